namespace DataPlane.EndToEnd.Tests;

/// <summary>The published NativeAOT binaries export spans: `dataplane serve` (embedded simulated Triton) over OTLP/gRPC
/// and `dataplane-agent serve` over OTLP/HTTP, to a receiver in the test; one escalated request is one trace across
/// both processes, flushed when they stop.</summary>
public class TracingProcessTests
{
    private const string ClientTrace = "0af7651916cd43dd8448eb211c80319c";
    private const string ClientSpan = "b7ad6b7169203331";

    [Fact]
    public async Task Both_binaries_export_one_connected_trace_over_grpc_and_http()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        int grpc = Binaries.FreePort(), daemonAdmin = Binaries.FreePort();
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{daemonAdmin}",
            "--http", "127.0.0.1:0", $"--Tracing:OtlpEndpoint={receiver.GrpcUrl}", "--Tracing:Protocol=grpc");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{daemonAdmin}/readyz", TimeSpan.FromSeconds(30));

        int api = Binaries.FreePort(), agentAdmin = Binaries.FreePort();
        using var agent = new ChildProcess(Binaries.Agent, "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{agentAdmin}",
            "--gpu", $"127.0.0.1:{grpc}", "--Gpu:DefaultModel=llm", "--Gpu:Models:0=big-70b",
            $"--Tracing:OtlpEndpoint={receiver.TracesUrl}", "--Tracing:Protocol=http/protobuf",
            // No hedge on a busy machine: the GPU answers, however late its first token is.
            "--Serving:SloMs=120000", "--Hedge:InitialMs=60000", "--Hedge:MinMs=60000", "--Hedge:MaxMs=60000");
        await agent.WaitForHttpAsync($"http://127.0.0.1:{api}/readyz", TimeSpan.FromSeconds(30));
        await agent.WaitForOutputAsync("GPU pool", TimeSpan.FromSeconds(30), after: "serving the API");

        using (var http = new HttpClient())
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{api}/v1/chat/completions"))
        {
            request.Content = new StringContent(AgentProcess.Chat("why batch on a GPU?", maxTokens: 3, model: "big-70b"),
                System.Text.Encoding.UTF8, "application/json");
            request.Headers.Add("traceparent", $"00-{ClientTrace}-{ClientSpan}-01");
            var answer = await Answer.ReadAsync(await http.SendAsync(request));
            Assert.Equal(200, answer.Status);
            Assert.Equal("gpu", answer.PathHeader);
        }

        // Stopping flushes the exporters.
        agent.Terminate();
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var spans = receiver.Received().Where(s => s.TraceId == ClientTrace).ToList();
        var root = Assert.Single(spans, s => s.Service == "dataplane-agent" && s.Kind == ReceivedSpan.Server);
        Assert.Equal(ClientSpan, root.ParentSpanId);
        var leg = Assert.Single(spans, s => s.Service == "dataplane-agent" && s.Kind == ReceivedSpan.Client);
        Assert.Equal(root.SpanId, leg.ParentSpanId);
        var server = Assert.Single(spans, s => s.Service == "dataplane" && s.Kind == ReceivedSpan.Server);
        Assert.Equal(leg.SpanId, server.ParentSpanId);
        var upstream = Assert.Single(spans, s => s.Service == "dataplane" && s.Kind == ReceivedSpan.Client);
        Assert.Equal(server.SpanId, upstream.ParentSpanId);
    }
}
