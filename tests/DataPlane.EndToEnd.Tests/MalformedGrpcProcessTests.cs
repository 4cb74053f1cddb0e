using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Grpc.Net.Client;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The published daemon against garbage in well-formed gRPC frames and huge client strings.</summary>
public class MalformedGrpcProcessTests
{
    private const string LogLine = "Malformed request message on /inference.GRPCInferenceService/ModelInfer";

    [Fact]
    public async Task Malformed_protobuf_is_invalid_argument_with_one_short_log_line_per_interval_and_no_stack_trace()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}",
            "--http", "127.0.0.1:0");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));
        var address = new Uri($"http://127.0.0.1:{grpc}");

        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            RawGrpcAsync(address, "/inference.GRPCInferenceService/ModelInfer", i % 2 == 0 ? [0x0A, 0xFF, 0xFF, 0xFF] : [0xFF, 0xFF, 0xFF, 0xFF])));
        var elapsed = clock.Elapsed;
        Assert.All(answers, a =>
        {
            Assert.Equal("3", a.Status);
            Assert.StartsWith("malformed ModelInferRequest: ", a.Message, StringComparison.Ordinal);
        });

        // A 4 MiB model name comes back cut, and good calls are still answered.
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxSendMessageSize = 16 << 20 });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(new ModelInferRequest { ModelName = new string('m', 4 << 20) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.True(e.Status.Detail.Length < 400, $"{e.Status.Detail.Length} characters in grpc-message");
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);

        await daemon.WaitForOutputAsync(LogLine, TimeSpan.FromSeconds(30));
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        // Everything the process logged is in the output once it has exited.
        string output = daemon.Output;
        string[] lines = output.Split('\n').Where(l => l.Contains(LogLine, StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length >= 1 && lines.Length <= 1 + (int)(elapsed.TotalSeconds / 10), $"{lines.Length} log lines in {elapsed}:\n{output}");
        Assert.All(lines, l => Assert.True(l.Length < 400, l));
        Assert.DoesNotContain("Exception was thrown by handler", output);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("InvalidProtocolBufferException", output);
    }

    private static async Task<(string? Status, string Message)> RawGrpcAsync(Uri address, string path, byte[] payload)
    {
        using var http = new HttpClient(new SocketsHttpHandler());
        byte[] frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length);
        payload.CopyTo(frame, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Content = new ByteArrayContent(frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await http.SendAsync(request);
        _ = await response.Content.ReadAsByteArrayAsync();
        string? status = response.TrailingHeaders.TryGetValues("grpc-status", out var s) ? s.First()
            : response.Headers.TryGetValues("grpc-status", out s) ? s.First() : null;
        string message = response.TrailingHeaders.TryGetValues("grpc-message", out var m) ? m.First()
            : response.Headers.TryGetValues("grpc-message", out m) ? m.First() : "";
        return (status, Uri.UnescapeDataString(message));
    }
}
