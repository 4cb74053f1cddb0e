using System.Net;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>Every RPC of the front end through Grpc.Net.Client against the running daemon.</summary>
public class ConformanceTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private DaemonHarness H => fixture.Harness;

    [Fact]
    public async Task Server_is_live_and_ready()
    {
        Assert.True((await H.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await H.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task Model_readiness_respects_name_and_version()
    {
        Assert.True((await H.Client.ModelReadyAsync(new ModelReadyRequest { Name = "simple" })).Ready);
        Assert.True((await H.Client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "1" })).Ready);
        Assert.False((await H.Client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "2" })).Ready);
        Assert.False((await H.Client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" })).Ready);
    }

    [Fact]
    public async Task Server_metadata_is_the_upstreams_and_dataplane_names_itself_in_a_header()
    {
        using var direct = Grpc.Net.Client.GrpcChannel.ForAddress(H.Simulator.Address);
        var upstream = await new GRPCInferenceService.GRPCInferenceServiceClient(direct).ServerMetadataAsync(new ServerMetadataRequest());
        var call = H.Client.ServerMetadataAsync(new ServerMetadataRequest());
        var m = await call;
        Assert.Equal(upstream, m);
        Assert.Equal("dataplane/" + DataPlane.Batching.Frontend.ServerIdentity.Version, (await call.ResponseHeadersAsync).GetValue("dataplane-version"));
    }

    [Fact]
    public async Task Model_metadata_and_config_come_from_the_upstream()
    {
        var meta = await H.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple" });
        Assert.Equal("simple", meta.Name);
        Assert.Equal(["1"], meta.Versions);
        Assert.Equal("INPUT0", meta.Inputs[0].Name);
        Assert.Equal("FP32", meta.Inputs[0].Datatype);
        Assert.Equal([-1L, 16], meta.Inputs[0].Shape);

        var config = (await H.Client.ModelConfigAsync(new ModelConfigRequest { Name = "simple" })).Config;
        Assert.Equal("simple", config.Name);
        Assert.Equal(32, config.MaxBatchSize);
        Assert.Equal(DataType.TypeFp32, config.Input[0].DataType);
        Assert.Equal([16L], config.Input[0].Dims);
        Assert.Equal("OUTPUT0", config.Output[0].Name);
        // dynamic_batching describes the daemon's own batcher (adaptive: held at most the 5 ms maximum window).
        Assert.Equal(5000UL, config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(2UL, config.DynamicBatching.PriorityLevels);
        Assert.Equal(1024U, config.DynamicBatching.DefaultQueuePolicy.MaxQueueSize);

        var llm = (await H.Client.ModelConfigAsync(new ModelConfigRequest { Name = "llm" })).Config;
        Assert.True(llm.ModelTransactionPolicy.Decoupled);

        var e = await Assert.ThrowsAsync<RpcException>(() => H.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("Request for unknown model: 'nope' is not found", e.Status.Detail);
        e = await Assert.ThrowsAsync<RpcException>(() => H.Client.ModelConfigAsync(new ModelConfigRequest { Name = "simple", Version = "3" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Repository_index_lists_every_upstream_model_as_ready()
    {
        var index = await H.Client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });
        var names = index.Models.Select(m => m.Name).ToList();
        Assert.Contains("simple", names);
        Assert.Contains("llm", names);
        Assert.Equal(SimulationOptions.Default.Models.Count, names.Count);
        Assert.All(index.Models, m => Assert.Equal("READY", m.State));
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task Statistics_count_requests_rows_and_batches()
    {
        var client = H.Client;
        var before = (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single();
        for (int i = 0; i < 3; i++)
        {
            await client.ModelInferAsync(Tensors.Raw("echo_int32", TensorDataType.Int32, [2, 3], new byte[24]));
        }

        var after = (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single();
        Assert.Equal("echo_int32", after.Name);
        Assert.Equal("1", after.Version);
        Assert.Equal(before.InferenceStats.Success.Count + 3, after.InferenceStats.Success.Count);
        Assert.Equal(before.InferenceCount + 6, after.InferenceCount);
        Assert.InRange(after.ExecutionCount - before.ExecutionCount, 1UL, 3UL);
        Assert.True(after.InferenceStats.Queue.Count >= 3);
        Assert.True(after.InferenceStats.ComputeInfer.Ns > before.InferenceStats.ComputeInfer.Ns);
        Assert.Contains(after.BatchStats, b => b.BatchSize >= 2);
        Assert.True(after.LastInference > 0);

        var all = await client.ModelStatisticsAsync(new ModelStatisticsRequest());
        Assert.Equal(SimulationOptions.Default.Models.Count, all.ModelStats.Count);
    }

    [Fact]
    public async Task Health_check_serves_the_server_and_the_inference_service()
    {
        var health = new Health.HealthClient(H.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" })).Status);
        // Triton's Check ignores the service name.
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "other" })).Status);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var watch = health.Watch(new HealthCheckRequest(), cancellationToken: cts.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task A_priority_above_the_levels_means_the_default_level_as_in_triton()
    {
        var request = Tensors.Simple(1, 4);
        request.Parameters["priority"] = new InferParameter { Uint64Param = 9 };
        Assert.Single((await H.Client.ModelInferAsync(request)).Outputs);
    }

    [Fact]
    public async Task Every_rpc_of_the_service_is_served_as_triton_serves_it()
    {
        var c = H.Client;
        // Model control is the upstream's: the default simulated Triton runs without explicit model control.
        var load = await Assert.ThrowsAsync<RpcException>(() => c.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, load.StatusCode);
        Assert.Equal("explicit model load / unload is not allowed if polling is enabled", load.Status.Detail);
        var unload = await Assert.ThrowsAsync<RpcException>(() => c.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, unload.StatusCode);

        // Client shared memory is off by default, as in Triton 2.68 and later; status calls are answered.
        Assert.Empty((await c.SystemSharedMemoryStatusAsync(new SystemSharedMemoryStatusRequest())).Regions);
        var shm = await Assert.ThrowsAsync<RpcException>(() => c.SystemSharedMemoryRegisterAsync(
            new SystemSharedMemoryRegisterRequest { Name = "r", Key = "/r", ByteSize = 64 }).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, shm.StatusCode);
        Assert.Equal("Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.", shm.Status.Detail);
        Assert.Equal(StatusCode.Unimplemented, (await Assert.ThrowsAsync<RpcException>(() =>
            c.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest()).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.Unimplemented, (await Assert.ThrowsAsync<RpcException>(() =>
            c.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest()).ResponseAsync)).StatusCode);
        Assert.Empty((await c.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest())).Regions);

        // Trace and log settings are the upstream's.
        var trace = await c.TraceSettingAsync(new TraceSettingRequest());
        Assert.Equal(["OFF"], trace.Settings["trace_level"].Value);
        Assert.Equal(["1000"], trace.Settings["trace_rate"].Value);
        var log = await c.LogSettingsAsync(new LogSettingsRequest());
        Assert.Equal(["log_file", "log_info", "log_warning", "log_error", "log_verbose_level", "log_format"], log.Settings.Keys);
    }

    [Fact]
    public async Task Admin_pages_are_on_the_admin_listener_only()
    {
        Assert.Equal("ok\n", await H.Admin.GetStringAsync("/healthz"));
        Assert.Equal("ready\n", await H.Admin.GetStringAsync("/readyz"));
        string status = await H.Admin.GetStringAsync("/status");
        Assert.Contains("\"policy\": \"adaptive\"", status);
        Assert.Contains("\"model\": \"simple\"", status);
        Assert.Contains("dataplane_upstream_up 1", await H.MetricsTextAsync());

        // The gRPC listener speaks h2c only and has no admin pages.
        using var h2c = new HttpClient();
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(H.Daemon.GrpcAddress, "/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await h2c.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        // Inference is not reachable through the admin listener.
        using var adminChannel = Grpc.Net.Client.GrpcChannel.ForAddress(H.Daemon.AdminAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(adminChannel);
        await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
    }

    [Fact]
    public async Task Request_id_and_parameters_are_preserved()
    {
        var request = Tensors.Raw("echo_uint8", TensorDataType.UInt8, [1, 2], [1, 2], id: "req-42");
        request.Parameters["priority"] = new InferParameter { Int64Param = 1 };
        var response = await H.Client.ModelInferAsync(request);
        Assert.Equal("req-42", response.Id);
        Assert.Equal("echo_uint8", response.ModelName);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.UInt8, [1, 2]), Tensors.Output0(response));
    }
}
