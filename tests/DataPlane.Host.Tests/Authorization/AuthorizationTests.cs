using System.Net;
using DataPlane.Host.Tests.Http;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests.Authorization;

/// <summary>The daemon with mutual TLS and per-client grants: pi-01 may run inference and read metadata of `simple` only;
/// ops may do everything; a client by URI (spiffe://dataplane/bench) may run inference on and read statistics of the
/// echo models; any other client of the CA gets the default (inference and metadata on every model).</summary>
public sealed class AuthorizationFixture : IAsyncLifetime
{
    public MutualTlsHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await MutualTlsHarness.StartAsync(new Dictionary<string, string?>
    {
        ["Authorization:Clients:pi-01:Models"] = "simple",
        ["Authorization:Clients:pi-01:Operations"] = "inference,metadata",
        ["Authorization:Clients:ops:Operations:0"] = "all",
        ["Authorization:Clients:bench:Identity"] = "spiffe://dataplane/bench",
        ["Authorization:Clients:bench:Models:0"] = "echo_*",
        ["Authorization:Clients:bench:Operations"] = "inference,statistics",
    });

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

public class AuthorizationTests(AuthorizationFixture fixture) : IClassFixture<AuthorizationFixture>
{
    private MutualTlsHarness H => fixture.Harness;

    private static ModelInferRequest Echo(string model = "echo_int32") =>
        Tensors.Raw(model, TensorDataType.Int32, [1, 4], new byte[16]);

    private static async Task<RpcException> Denied(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        return e;
    }

    [Fact]
    public async Task A_client_runs_inference_and_reads_metadata_of_its_models_only()
    {
        var pi = H.Grpc(H.Client("pi-01"));
        var answer = await pi.ModelInferAsync(Tensors.Simple(2, 1f));
        Assert.Equal("simple", answer.ModelName);
        Assert.Equal("simple", (await pi.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple" })).Name);
        Assert.True((await pi.ModelReadyAsync(new ModelReadyRequest { Name = "simple" })).Ready);

        var e = await Denied(() => pi.ModelInferAsync(Echo()).ResponseAsync);
        Assert.Equal("client 'pi-01' is not granted inference on model 'echo_int32'", e.Status.Detail);
        e = await Denied(() => pi.ModelConfigAsync(new ModelConfigRequest { Name = "llm" }).ResponseAsync);
        Assert.Equal("client 'pi-01' is not granted metadata on model 'llm'", e.Status.Detail);
        // A model that does not exist is refused the same way: the answer does not tell what is served.
        e = await Denied(() => pi.ModelInferAsync(Echo("no_such_model")).ResponseAsync);
        Assert.Contains("'no_such_model'", e.Status.Detail);

        // Statistics, shared memory, settings and control are other groups.
        e = await Denied(() => pi.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "simple" }).ResponseAsync);
        Assert.Equal("client 'pi-01' is not granted statistics on model 'simple'", e.Status.Detail);
        e = await Denied(() => pi.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest()).ResponseAsync);
        Assert.Equal("client 'pi-01' is not granted shared-memory", e.Status.Detail);
        await Denied(() => pi.LogSettingsAsync(new LogSettingsRequest()).ResponseAsync);
        await Denied(() => pi.TraceSettingAsync(new TraceSettingRequest { ModelName = "simple" }).ResponseAsync);
        await Denied(() => pi.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" }).ResponseAsync);

        // Liveness and readiness are open to every authenticated client.
        Assert.True((await pi.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await pi.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var health = H.Health(H.Client("pi-01"));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    [Fact]
    public async Task Repository_index_and_statistics_list_only_the_models_a_client_sees()
    {
        var pi = H.Grpc(H.Client("pi-01"));
        var index = await pi.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.Equal(["simple"], index.Models.Select(m => m.Name));

        // Identity from a subjectAltName URI; its grant covers the echo models.
        var bench = H.Grpc(H.Client("whatever", uris: ["spiffe://dataplane/bench"]));
        _ = await bench.ModelInferAsync(Echo());
        var statistics = await bench.ModelStatisticsAsync(new ModelStatisticsRequest());
        Assert.NotEmpty(statistics.ModelStats);
        Assert.All(statistics.ModelStats, s => Assert.StartsWith("echo_", s.Name));
        Assert.Contains("echo_int32", statistics.ModelStats.Select(s => s.Name));
        var e = await Denied(() => bench.RepositoryIndexAsync(new RepositoryIndexRequest()).ResponseAsync);
        Assert.Equal("client 'spiffe://dataplane/bench' is not granted metadata", e.Status.Detail);

        var ops = H.Grpc(H.Client("ops"));
        var all = (await ops.RepositoryIndexAsync(new RepositoryIndexRequest())).Models.Select(m => m.Name).ToList();
        Assert.Contains("llm", all);
        Assert.Contains("simple", all);
        Assert.Contains("echo_int32", all);
        Assert.Contains("simple", (await ops.ModelStatisticsAsync(new ModelStatisticsRequest())).ModelStats.Select(s => s.Name));
    }

    [Fact]
    public async Task A_client_without_a_rule_gets_inference_and_metadata_on_every_model_and_no_control()
    {
        var stranger = H.Grpc(H.Client("stranger.example"));
        _ = await stranger.ModelInferAsync(Echo());
        _ = await stranger.ModelInferAsync(Tensors.Simple(1, 2f));
        Assert.Contains("llm", (await stranger.RepositoryIndexAsync(new RepositoryIndexRequest())).Models.Select(m => m.Name));
        Assert.Equal("llm", (await stranger.ModelConfigAsync(new ModelConfigRequest { Name = "llm" })).Config.Name);

        var e = await Denied(() => stranger.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal("client 'stranger.example' is not granted control on model 'simple'", e.Status.Detail);
        await Denied(() => stranger.ModelStatisticsAsync(new ModelStatisticsRequest()).ResponseAsync);
        await Denied(() => stranger.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest()).ResponseAsync);
        await Denied(() => stranger.LogSettingsAsync(new LogSettingsRequest()).ResponseAsync);
    }

    [Fact]
    public async Task Http_requests_are_authorized_like_grpc_calls()
    {
        var pi = H.Http(H.Client("pi-01"));
        var ok = await HttpInfer.PostAsync(pi, "/v2/models/simple/infer",
            """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}""");
        Assert.True(ok.Status == HttpStatusCode.OK, ok.Json);

        var denied = await HttpInfer.PostAsync(pi, "/v2/models/echo_int32/infer",
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"data":[1,2,3,4]}]}""");
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        Assert.Equal("client 'pi-01' is not granted inference on model 'echo_int32'", denied.Error);

        var index = await HttpInfer.PostAsync(pi, "/v2/repository/index", "{}");
        Assert.Equal(HttpStatusCode.OK, index.Status);
        Assert.Equal(["simple"], index.Node.AsArray().Select(m => m!["name"]!.GetValue<string>()));

        var statistics = await HttpInfer.GetAsync(pi, "/v2/models/stats");
        Assert.Equal(HttpStatusCode.Forbidden, statistics.Status);
        Assert.Equal("client 'pi-01' is not granted statistics", statistics.Error);
        Assert.Equal(HttpStatusCode.Forbidden, (await HttpInfer.GetAsync(pi, "/v2/logging")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await HttpInfer.GetAsync(pi, "/v2/systemsharedmemory/status")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await HttpInfer.PostAsync(pi, "/v2/repository/models/simple/unload", "{}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await HttpInfer.GetAsync(pi, "/v2/health/ready")).Status);
        Assert.Equal(HttpStatusCode.OK, (await HttpInfer.GetAsync(pi, "/v2/models/simple")).Status);

        var bench = H.Http(H.Client("bench-host", uris: ["spiffe://dataplane/bench"]));
        var echoStatistics = await HttpInfer.GetAsync(bench, "/v2/models/stats");
        Assert.Equal(HttpStatusCode.OK, echoStatistics.Status);
        var names = echoStatistics.Node["model_stats"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()).ToList();
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.StartsWith("echo_", n));
    }

    [Fact]
    public async Task A_streamed_request_outside_the_grant_gets_an_in_stream_error_and_the_stream_goes_on()
    {
        var pi = H.Grpc(H.Client("pi-01"));
        using var call = pi.ModelStreamInfer();
        var prompt = new ModelInferRequest { ModelName = "llm", Id = "denied" };
        prompt.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "text_input", Datatype = "BYTES", Shape = { 1 } });
        prompt.RawInputContents.Add(ByteString.CopyFrom(BytesTensor.Encode("hello")));
        await call.RequestStream.WriteAsync(prompt);
        await call.RequestStream.WriteAsync(Tensors.Simple(1, 3f, id: "allowed"));
        await call.RequestStream.CompleteAsync();

        var responses = new List<ModelStreamInferResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync())
        {
            responses.Add(r);
        }

        Assert.Equal(2, responses.Count);
        Assert.Equal("denied", responses[0].InferResponse.Id);
        Assert.Equal("client 'pi-01' is not granted inference on model 'llm'", responses[0].ErrorMessage);
        Assert.Equal("allowed", responses[1].InferResponse.Id);
        Assert.Equal("", responses[1].ErrorMessage);
        Assert.Equal("simple", responses[1].InferResponse.ModelName);
    }

    [Fact]
    public async Task Denials_are_counted_per_identity_and_operation()
    {
        var client = H.Grpc(H.Client("counted-client"));
        for (int i = 0; i < 3; i++)
        {
            await Denied(() => client.LogSettingsAsync(new LogSettingsRequest()).ResponseAsync);
        }

        await Denied(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" }).ResponseAsync);
        string metrics = await H.MetricsTextAsync();
        Assert.Contains("dataplane_authorization_denied_total{identity=\"counted-client\",operation=\"settings\"} 3\n", metrics);
        Assert.Contains("dataplane_authorization_denied_total{identity=\"counted-client\",operation=\"control\"} 1\n", metrics);
    }
}

/// <summary>Model control through the daemon needs the control group (the simulated Triton in explicit mode).</summary>
public sealed class ModelControlAuthorizationTests : IAsyncLifetime
{
    private MutualTlsHarness _h = null!;

    public async Task InitializeAsync() => _h = await MutualTlsHarness.StartAsync(new Dictionary<string, string?>
    {
        ["Authorization:Clients:ops:Operations"] = "inference,metadata,control",
        ["Authorization:Clients:ops:Models"] = "simple*",
    }, new SimulationOptions { ModelControl = SimulatedModelControl.Explicit });

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Only_a_client_granted_control_loads_and_unloads_its_models()
    {
        var stranger = _h.Grpc(_h.Client("pi-07"));
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            stranger.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("client 'pi-07' is not granted control on model 'simple'", e.Status.Detail);
        Assert.DoesNotContain("simple", _h.Daemon.Registry.Models.Keys);

        var ops = _h.Grpc(_h.Client("ops"));
        await ops.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" });
        Assert.Contains("simple", _h.Daemon.Registry.Models.Keys);
        _ = await stranger.ModelInferAsync(Tensors.Simple(1, 1f));

        // ops' control covers simple* only.
        e = await Assert.ThrowsAsync<RpcException>(() =>
            ops.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "llm" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        await Assert.ThrowsAsync<RpcException>(() =>
            stranger.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" }).ResponseAsync);
        await ops.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" });
        Assert.DoesNotContain("simple", _h.Daemon.Registry.Models.Keys);
    }
}
