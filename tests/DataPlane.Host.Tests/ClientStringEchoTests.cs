using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Options;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

public sealed class EchoFixture : IAsyncLifetime
{
    public DaemonHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await DaemonHarness.StartAsync(
        new Dictionary<string, string?> { ["SharedMemory:AllowClient"] = "true" },
        SimulationOptions.Default with { ModelControl = SimulatedModelControl.Explicit, LoadModels = [SimulationOptions.AllModels], AllowClientShm = true });

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>A client string repeated in an error comes back cut to <see cref="TritonErrors.MaxEcho"/> characters,
/// whichever RPC or route carries it and whether the daemon or its upstream wrote the message; malformed protobuf in
/// a valid gRPC frame is INVALID_ARGUMENT.</summary>
public partial class ClientStringEchoTests(EchoFixture fixture) : IClassFixture<EchoFixture>
{
    private static readonly string s_long = new('m', 64 * 1024);

    [GeneratedRegex("m{257,}")]
    private static partial Regex LongRun();

    private static void AssertCut(string what, string message)
    {
        Assert.False(LongRun().IsMatch(message), $"{what}: the message repeats more than {TritonErrors.MaxEcho} characters of the client's string " +
            $"({message.Length} characters: {message[..Math.Min(200, message.Length)]}…)");
        Assert.True(message.Length < 4096, $"{what}: a {message.Length}-character message");
    }

    public static TheoryData<string> Rpcs() =>
    [
        // Every call here fails (unregistering an unknown region, ModelReady of an unknown model or settings Triton
        // ignores succeed, as in Triton, and repeat nothing).
        "ModelReady version", "ModelMetadata", "ModelMetadata version", "ModelConfig", "ModelStatistics", "RepositoryModelLoad",
        "SystemSharedMemoryStatus", "SystemSharedMemoryRegister", "SystemSharedMemoryRegister key", "CudaSharedMemoryStatus",
        "CudaSharedMemoryRegister", "TraceSetting", "ModelInfer", "ModelInfer id", "ModelInfer input", "ModelInfer output",
        "ModelInfer parameter", "ModelInfer region",
    ];

    [Theory]
    [MemberData(nameof(Rpcs))]
    public async Task A_long_client_string_comes_back_cut_over_grpc(string rpc)
    {
        var c = fixture.Harness.Client;
        string n = s_long;
        var simple = () => Tensors.Simple(1, 1f);
        Task call = rpc switch
        {
            "ModelReady version" => c.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = n }).ResponseAsync,
            "ModelMetadata" => c.ModelMetadataAsync(new ModelMetadataRequest { Name = n }).ResponseAsync,
            "ModelMetadata version" => c.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple", Version = n }).ResponseAsync,
            "ModelConfig" => c.ModelConfigAsync(new ModelConfigRequest { Name = n }).ResponseAsync,
            "ModelStatistics" => c.ModelStatisticsAsync(new ModelStatisticsRequest { Name = n }).ResponseAsync,
            "RepositoryModelLoad" => c.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = n }).ResponseAsync,
            "SystemSharedMemoryStatus" => c.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest { Name = n }).ResponseAsync,
            "SystemSharedMemoryRegister" => c.SystemSharedMemoryRegisterAsync(
                new SystemSharedMemoryRegisterRequest { Name = n, Key = "/nonexistent-dataplane-key", ByteSize = 64 }).ResponseAsync,
            "SystemSharedMemoryRegister key" => c.SystemSharedMemoryRegisterAsync(
                new SystemSharedMemoryRegisterRequest { Name = "r", Key = "/" + n, ByteSize = 64 }).ResponseAsync,
            "CudaSharedMemoryStatus" => c.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest { Name = n }).ResponseAsync,
            "CudaSharedMemoryRegister" => c.CudaSharedMemoryRegisterAsync(
                new CudaSharedMemoryRegisterRequest { Name = n, RawHandle = ByteString.CopyFrom(new byte[64]), ByteSize = 64 }).ResponseAsync,
            "TraceSetting" => c.TraceSettingAsync(new TraceSettingRequest { ModelName = n }).ResponseAsync,
            "ModelInfer" => c.ModelInferAsync(new ModelInferRequest(simple()) { ModelName = n }).ResponseAsync,
            "ModelInfer id" => c.ModelInferAsync(Change(simple(), r => { r.Id = n; r.Inputs[0].Datatype = "INT32"; })).ResponseAsync,
            "ModelInfer input" => c.ModelInferAsync(Change(simple(), r => r.Inputs[0].Name = n)).ResponseAsync,
            "ModelInfer output" => c.ModelInferAsync(Change(simple(), r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = n })))
                .ResponseAsync,
            "ModelInfer parameter" => c.ModelInferAsync(Change(simple(), r => r.Parameters["priority"] = new InferParameter { StringParam = n })).ResponseAsync,
            "ModelInfer region" => c.ModelInferAsync(Change(simple(), r =>
            {
                r.RawInputContents.Clear();
                r.Inputs[0].Parameters["shared_memory_region"] = new InferParameter { StringParam = n };
                r.Inputs[0].Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 64 };
            })).ResponseAsync,
            _ => throw new ArgumentOutOfRangeException(nameof(rpc)),
        };
        var e = await Assert.ThrowsAsync<RpcException>(() => call);
        AssertCut(rpc, e.Status.Detail);
    }

    [Theory]
    [InlineData("GET", "/v2/models/{name}")]
    [InlineData("GET", "/v2/models/{name}/ready")]
    [InlineData("GET", "/v2/models/{name}/config")]
    [InlineData("GET", "/v2/models/{name}/stats")]
    [InlineData("GET", "/v2/models/simple/versions/{name}")]
    [InlineData("POST", "/v2/models/{name}/infer")]
    [InlineData("POST", "/v2/repository/models/{name}/load")]
    [InlineData("GET", "/v2/systemsharedmemory/region/{name}/status")]
    [InlineData("POST", "/v2/models/simple/infer")]
    public async Task A_long_client_string_comes_back_cut_over_http(string method, string path)
    {
        // URLs are bounded by Kestrel's request line (8 KiB); bodies are not.
        string name = new('m', 4000);
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{name}", name, StringComparison.Ordinal));
        if (method == "POST")
        {
            string input = path == "/v2/models/simple/infer" ? new string('m', 64 * 1024) : "INPUT0";
            request.Content = new StringContent(
                $$"""{"id":"{{s_long}}","inputs":[{"name":"{{input}}","datatype":"FP32","shape":[1,16],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]}""");
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var response = await fixture.Harness.Http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        AssertCut($"{method} {path}", body);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x00 })]
    public async Task Malformed_protobuf_in_a_valid_grpc_frame_is_invalid_argument(byte[] payload)
    {
        var (status, message) = await RawGrpcAsync(fixture.Harness.Daemon.GrpcAddress, "/inference.GRPCInferenceService/ModelInfer", payload);
        Assert.Equal("3", status);
        Assert.StartsWith("malformed ModelInferRequest: ", message, StringComparison.Ordinal);
        (status, message) = await RawGrpcAsync(fixture.Harness.Daemon.GrpcAddress, "/grpc.health.v1.Health/Check", payload);
        Assert.Equal("3", status);
        Assert.StartsWith("malformed HealthCheckRequest: ", message, StringComparison.Ordinal);

        // The daemon keeps serving, and the simulated Triton answers the same way.
        Assert.True((await fixture.Harness.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        (status, message) = await RawGrpcAsync(fixture.Harness.Simulator.Address, "/inference.GRPCInferenceService/ModelInfer", payload);
        Assert.Equal("3", status);
        Assert.StartsWith("malformed ModelInferRequest: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_request_on_a_stream_ends_the_stream_with_invalid_argument()
    {
        byte[] good = Tensors.Simple(1, 1f).ToByteArray();
        var (status, message) = await RawGrpcAsync(fixture.Harness.Daemon.GrpcAddress, "/inference.GRPCInferenceService/ModelStreamInfer",
            good, [0x0A, 0xFF, 0xFF, 0xFF]);
        Assert.Equal("3", status);
        Assert.StartsWith("malformed ModelInferRequest: ", message, StringComparison.Ordinal);
        (status, message) = await RawGrpcAsync(fixture.Harness.Simulator.Address, "/inference.GRPCInferenceService/ModelStreamInfer",
            good, [0x0A, 0xFF, 0xFF, 0xFF]);
        Assert.Equal("3", status);
        Assert.StartsWith("malformed ModelInferRequest: ", message, StringComparison.Ordinal);
    }

    /// <summary>Sends gRPC frames with the given payloads over h2c and returns grpc-status and grpc-message.</summary>
    internal static async Task<(string? Status, string Message)> RawGrpcAsync(Uri address, string path, params byte[][] payloads)
    {
        using var http = new HttpClient(new SocketsHttpHandler());
        var body = new MemoryStream();
        foreach (byte[] payload in payloads)
        {
            body.WriteByte(0);
            byte[] length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, payload.Length);
            body.Write(length);
            body.Write(payload);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Content = new ByteArrayContent(body.ToArray()),
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
        Assert.True(status != null, $"no grpc-status: HTTP {(int)response.StatusCode} {response.Version}, headers {response.Headers}, content {response.Content.Headers}");
        return (status, Uri.UnescapeDataString(message));
    }

    private static ModelInferRequest Change(ModelInferRequest request, Action<ModelInferRequest> change)
    {
        change(request);
        return request;
    }
}
