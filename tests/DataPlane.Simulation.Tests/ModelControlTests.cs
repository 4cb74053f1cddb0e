using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Llm;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Explicit model control: what is loaded at start, load and unload with Triton's rules and texts, the
/// repository index, readiness, statistics and inference of models in every state.</summary>
public sealed class ModelControlTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        ModelControl = SimulatedModelControl.Explicit,
        LoadModels = ["simple", "chat"],
        Models =
        [
            .. SimulationOptions.DefaultModels.Where(m => m.Name is "simple" or "echo_int32"),
            SimulatedModelOptions.LlmModel("chat") with { TimeToFirstToken = TimeSpan.FromMilliseconds(1), TokensPerSecond = 200 },
        ],
    };

    private SimulatedTritonServer _server = null!;

    private GRPCInferenceService.GRPCInferenceServiceClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(Options);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelInferRequest Echo() => Requests.Raw("echo_int32", TensorDataType.Int32, [1, 2], new byte[8]);

    private Task LoadAsync(string name, params (string Key, ModelRepositoryParameter Value)[] parameters)
    {
        var request = new RepositoryModelLoadRequest { ModelName = name };
        foreach (var (key, value) in parameters)
        {
            request.Parameters[key] = value;
        }

        return Client.RepositoryModelLoadAsync(request).ResponseAsync;
    }

    private Task UnloadAsync(string name) => Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = name }).ResponseAsync;

    private async Task<bool> ReadyAsync(string name, string version = "") =>
        (await Client.ModelReadyAsync(new ModelReadyRequest { Name = name, Version = version })).Ready;

    private async Task<List<(string, string, string, string)>> IndexAsync(bool ready = false) =>
        (await Client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = ready })).Models.Select(m => (m.Name, m.Version, m.State, m.Reason)).ToList();

    [Fact]
    public async Task Only_the_models_named_at_start_are_loaded_and_the_index_lists_the_others_by_name()
    {
        Assert.Equal([("chat", "1", "READY", ""), ("echo_int32", "", "", ""), ("simple", "1", "READY", "")], await IndexAsync());
        Assert.Equal(["chat", "simple"], (await IndexAsync(ready: true)).Select(m => m.Item1));
        Assert.False(await ReadyAsync("echo_int32"));

        var e = await Requests.FailsWith(StatusCode.NotFound, () => Client.ModelInferAsync(Echo()).ResponseAsync);
        Assert.Equal("Request for unknown model: 'echo_int32' is not found", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.InvalidArgument,
            () => Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" }).ResponseAsync);
        Assert.Equal("requested model 'echo_int32' is not available", e.Status.Detail);
        Assert.Equal(["chat", "simple"], (await Client.ModelStatisticsAsync(new ModelStatisticsRequest())).ModelStats.Select(m => m.Name));
    }

    [Fact]
    public async Task Load_unload_and_load_again_change_readiness_index_inference_and_statistics()
    {
        await LoadAsync("echo_int32");
        Assert.True(await ReadyAsync("echo_int32"));
        Assert.Equal(("echo_int32", "1", "READY", ""), (await IndexAsync())[1]);
        await Client.ModelInferAsync(Echo());
        Assert.Equal(1ul, (await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single().InferenceStats.Success.Count);

        await UnloadAsync("echo_int32");
        Assert.False(await ReadyAsync("echo_int32"));
        Assert.False(await ReadyAsync("echo_int32", "1"));
        Assert.Equal(("echo_int32", "1", "UNAVAILABLE", "unloaded"), (await IndexAsync())[1]);
        Assert.DoesNotContain("echo_int32", (await IndexAsync(ready: true)).Select(m => m.Item1));
        var e = await Requests.FailsWith(StatusCode.NotFound, () => Client.ModelInferAsync(Echo()).ResponseAsync);
        Assert.Equal("Request for unknown model: 'echo_int32' has no available versions", e.Status.Detail);
        var versioned = Echo();
        versioned.ModelVersion = "1";
        e = await Requests.FailsWith(StatusCode.Unavailable, () => Client.ModelInferAsync(versioned).ResponseAsync);
        Assert.Equal("Request for unknown model: 'echo_int32' version 1 is not at ready state", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.NotFound, () => Client.ModelConfigAsync(new ModelConfigRequest { Name = "echo_int32" }).ResponseAsync);
        Assert.Equal("Request for unknown model: 'echo_int32' has no available versions", e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.InvalidArgument,
            () => Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" }).ResponseAsync);
        Assert.Equal("requested model 'echo_int32' is not available", e.Status.Detail);

        await LoadAsync("echo_int32");
        Assert.True(await ReadyAsync("echo_int32"));
        await Client.ModelInferAsync(Echo());
        var stats = (await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_int32" })).ModelStats.Single();
        Assert.Equal(1ul, stats.InferenceStats.Success.Count);
    }

    [Fact]
    public async Task Loading_an_unknown_model_fails_to_poll_and_unloading_one_succeeds()
    {
        var e = await Requests.FailsWith(StatusCode.Internal, () => LoadAsync("nope"));
        Assert.Equal("failed to load 'nope', failed to poll from model repository", e.Status.Detail);

        await UnloadAsync("nope");
        await UnloadAsync("echo_int32");
        Assert.Equal(("echo_int32", "", "", ""), (await IndexAsync())[1]);
    }

    [Fact]
    public async Task Load_and_unload_parameters_and_names_are_checked_with_tritons_texts()
    {
        async Task<string> Refused(StatusCode code, Func<Task> call) => (await Requests.FailsWith(code, call)).Status.Detail;

        Assert.Equal("invalid value type for load parameter 'config', expected string_param.",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("echo_int32", ("config", new ModelRepositoryParameter { Int64Param = 1 }))));
        Assert.Equal("invalid value type for load parameter 'file:1/model.onnx', expected bytes_param.",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("echo_int32", ("file:1/model.onnx", new ModelRepositoryParameter { StringParam = "x" }))));
        Assert.Equal("unrecognized load parameter 'foo'.",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("echo_int32", ("foo", new ModelRepositoryParameter { BoolParam = true }))));
        Assert.StartsWith("Invalid config override: ",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("echo_int32", ("config", new ModelRepositoryParameter { StringParam = "{\"max_batch_size\": " }))),
            StringComparison.Ordinal);
        Assert.Equal("Load parameter 'config' must be specified for model file override",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("echo_int32", ("file:1/model.onnx", new ModelRepositoryParameter { BytesParam = ByteString.CopyFromUtf8("x") }))));
        Assert.Equal("Model name cannot be empty. Please enter a valid name to deploy.", await Refused(StatusCode.InvalidArgument, () => LoadAsync(" ")));
        Assert.Equal("invalid model name '../simple', model name must not contain path traversal characters",
            await Refused(StatusCode.InvalidArgument, () => LoadAsync("../simple")));
        Assert.Equal("'repository_name' specification is not supported", await Refused(StatusCode.Unimplemented,
            () => Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { RepositoryName = "r", ModelName = "simple" }).ResponseAsync));
        Assert.Equal("'repository_name' specification is not supported", await Refused(StatusCode.Unimplemented,
            () => Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { RepositoryName = "r", ModelName = "simple" }).ResponseAsync));
        var unload = new RepositoryModelUnloadRequest { ModelName = "simple" };
        unload.Parameters["unload_dependents"] = new ModelRepositoryParameter { StringParam = "true" };
        Assert.Equal("invalid value type for 'unload_dependents' parameter, expected bool_param.",
            await Refused(StatusCode.InvalidArgument, () => Client.RepositoryModelUnloadAsync(unload).ResponseAsync));
        Assert.True(await ReadyAsync("simple"));
        Assert.False(await ReadyAsync("echo_int32"));

        // A configuration that is valid JSON is accepted (and not applied).
        await LoadAsync("echo_int32", ("config", new ModelRepositoryParameter { StringParam = "{\"max_batch_size\": 4}" }),
            ("file:1/model.onnx", new ModelRepositoryParameter { BytesParam = ByteString.CopyFromUtf8("x") }));
        Assert.Equal(64, (await Client.ModelConfigAsync(new ModelConfigRequest { Name = "echo_int32" })).Config.MaxBatchSize);
    }

    [Fact]
    public async Task Unloading_waits_for_the_requests_in_flight_and_they_finish()
    {
        // A streamed request in flight (its first token is out) finishes every token while its model unloads.
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Requests.Llm("keep going", maxTokens: 20, model: "chat", id: "long"));
        Assert.True(await call.ResponseStream.MoveNext());
        var unload = UnloadAsync("chat");
        var rest = await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count > 0 && Requests.EndsRequest(r[^1]));
        await unload;

        Assert.Equal(SimulatedLlm.Tokens("keep going", 20).Skip(1), rest.Select(r => Requests.Token(r.InferResponse)));
        Assert.True(Requests.IsFinal(rest[^1].InferResponse));
        Assert.False(await ReadyAsync("chat"));

        // A request holding the model keeps the unload from completing until it is done.
        Assert.Null(_server.Triton.TryGetModel("simple", "", enter: true, out var held));
        var pending = UnloadAsync("simple");
        while (await ReadyAsync("simple"))
        {
        }

        Assert.False(pending.IsCompleted, "the unload completed while a request was still in flight");
        held!.Exit();
        await pending;
        Assert.Equal(("simple", "1", "UNAVAILABLE", "unloaded"), (await IndexAsync())[2]);
    }
}

/// <summary>Model control <c>none</c> (Triton's default): every model is loaded and load/unload are refused.</summary>
public class ModelControlNoneTests : IClassFixture<DefaultServerFixture>
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

    public ModelControlNoneTests(DefaultServerFixture fixture) => _client = fixture.Client;

    [Fact]
    public async Task Load_and_unload_are_unavailable_with_tritons_text()
    {
        const string text = "explicit model load / unload is not allowed if polling is enabled";

        var e = await Requests.FailsWith(StatusCode.Unavailable, () => _client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal(text, e.Status.Detail);
        e = await Requests.FailsWith(StatusCode.Unavailable, () => _client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "simple" }).ResponseAsync);
        Assert.Equal(text, e.Status.Detail);

        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "simple" })).Ready);
    }
}
