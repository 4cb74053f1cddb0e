using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Health, server and model metadata, model configuration, repository index and statistics.</summary>
public class MetadataTests : IClassFixture<DefaultServerFixture>
{
    private readonly DefaultServerFixture _fixture;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

    public MetadataTests(DefaultServerFixture fixture)
    {
        _fixture = fixture;
        _client = fixture.Client;
    }

    [Fact]
    public async Task Server_is_live_and_ready_and_names_itself_as_triton_2_70_0_with_tritons_extensions_in_order()
    {
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _client.ServerReadyAsync(new ServerReadyRequest())).Ready);

        var metadata = await _client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("triton", metadata.Name);
        Assert.Equal("2.70.0", metadata.Version);
        Assert.Equal(
            [
                "classification", "sequence", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
                "model_configuration", "system_shared_memory", "cuda_shared_memory", "binary_tensor_data", "parameters",
                "statistics", "trace", "logging",
            ],
            metadata.Extensions);
    }

    [Fact]
    public async Task The_grpc_health_check_serves_whatever_service_is_named()
    {
        var health = _fixture.Server.Health;

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" })).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "nope" })).Status);
    }

    [Fact]
    public async Task Every_default_model_is_ready()
    {
        foreach (var model in SimulationOptions.DefaultModels)
        {
            Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = model.Name })).Ready, model.Name);
        }

        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "1" })).Ready);
    }

    [Fact]
    public async Task Model_metadata_shows_the_batch_dimension_as_minus_one()
    {
        var simple = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple" });

        Assert.Equal("simple", simple.Name);
        Assert.Equal(["1"], simple.Versions);
        Assert.Equal("simulation", simple.Platform);
        var input = Assert.Single(simple.Inputs);
        Assert.Equal(("INPUT0", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 16L], input.Shape);
        var output = Assert.Single(simple.Outputs);
        Assert.Equal(("OUTPUT0", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([-1L, 16L], output.Shape);

        var echo = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "echo_bf16" });
        Assert.Equal("BF16", echo.Inputs[0].Datatype);
        Assert.Equal([-1L, -1L], echo.Inputs[0].Shape);
    }

    [Fact]
    public async Task Llm_metadata_has_no_batch_dimension()
    {
        var llm = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "llm" });

        Assert.Equal(["text_input", "max_tokens"], llm.Inputs.Select(i => i.Name));
        Assert.Equal(["BYTES", "INT32"], llm.Inputs.Select(i => i.Datatype));
        Assert.All(llm.Inputs, i => Assert.Equal([1L], i.Shape));
        Assert.Equal(("text_output", "BYTES"), (llm.Outputs.Single().Name, llm.Outputs.Single().Datatype));
        Assert.Equal([1L], llm.Outputs.Single().Shape);
    }

    [Fact]
    public async Task Model_config_of_simple_describes_it_without_dynamic_batching()
    {
        var config = (await _client.ModelConfigAsync(new ModelConfigRequest { Name = "simple" })).Config;

        Assert.Equal("simple", config.Name);
        Assert.Equal("simulation", config.Platform);
        Assert.Equal("simulation", config.Backend);
        Assert.Equal(32, config.MaxBatchSize);
        var input = Assert.Single(config.Input);
        Assert.Equal(("INPUT0", DataType.TypeFp32), (input.Name, input.DataType));
        Assert.Equal([16L], input.Dims);
        Assert.False(input.Optional);
        var output = Assert.Single(config.Output);
        Assert.Equal(("OUTPUT0", DataType.TypeFp32), (output.Name, output.DataType));
        Assert.Equal([16L], output.Dims);
        Assert.Equal(1, Assert.Single(config.InstanceGroup).Count);
        Assert.Null(config.DynamicBatching);
        Assert.False(config.ModelTransactionPolicy?.Decoupled ?? false);
        Assert.Equal("5000", config.Parameters["base_latency_us"].StringValue);
        Assert.Equal("200", config.Parameters["per_item_latency_us"].StringValue);
    }

    [Fact]
    public async Task Model_config_of_echo_models_maps_every_datatype()
    {
        foreach (var type in TensorDataTypes.All)
        {
            var config = (await _client.ModelConfigAsync(new ModelConfigRequest { Name = SimulationOptions.EchoModelName(type) })).Config;
            Assert.Equal(64, config.MaxBatchSize);
            Assert.Equal(2, config.InstanceGroup.Sum(g => g.Count));
            Assert.Equal(type, TensorDataTypes.FromConfig(config.Input[0].DataType));
            Assert.Equal(type, TensorDataTypes.FromConfig(config.Output[0].DataType));
            Assert.Equal([-1L], config.Input[0].Dims);
        }
    }

    [Fact]
    public async Task Model_config_of_llm_is_decoupled_with_an_optional_max_tokens()
    {
        var config = (await _client.ModelConfigAsync(new ModelConfigRequest { Name = "llm" })).Config;

        Assert.Equal(0, config.MaxBatchSize);
        Assert.True(config.ModelTransactionPolicy.Decoupled);
        Assert.Null(config.DynamicBatching);
        Assert.Equal([("text_input", DataType.TypeString, false), ("max_tokens", DataType.TypeInt32, true)],
            config.Input.Select(i => (i.Name, i.DataType, i.Optional)));
        Assert.Equal(("text_output", DataType.TypeString), (config.Output.Single().Name, config.Output.Single().DataType));
        Assert.Equal("50", config.Parameters["tokens_per_second"].StringValue);
    }

    [Fact]
    public async Task Repository_index_lists_every_model_ready_at_version_one_sorted_by_name()
    {
        var index = await _client.RepositoryIndexAsync(new RepositoryIndexRequest());

        Assert.Equal(SimulationOptions.DefaultModels.Select(m => m.Name).Order(StringComparer.Ordinal), index.Models.Select(m => m.Name));
        Assert.All(index.Models, m => Assert.Equal(("1", "READY", ""), (m.Version, m.State, m.Reason)));
        Assert.Equal(17, (await _client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true })).Models.Count);

        var e = await Requests.FailsWith(StatusCode.Unimplemented,
            () => _client.RepositoryIndexAsync(new RepositoryIndexRequest { RepositoryName = "models" }).ResponseAsync);
        Assert.Equal("'repository_name' specification is not supported", e.Status.Detail);
    }

    [Fact]
    public async Task Model_config_of_simple_sequence_declares_the_direct_sequence_batcher_and_its_controls()
    {
        var config = (await _client.ModelConfigAsync(new ModelConfigRequest { Name = "simple_sequence" })).Config;

        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal(("INPUT", DataType.TypeInt32), (config.Input.Single().Name, config.Input.Single().DataType));
        Assert.Equal([1L], config.Input.Single().Dims);
        Assert.Equal(("OUTPUT", DataType.TypeInt32), (config.Output.Single().Name, config.Output.Single().DataType));
        Assert.False(config.ModelTransactionPolicy.Decoupled);
        var batching = config.SequenceBatching;
        Assert.NotNull(batching);
        Assert.Equal(1_000_000ul, batching.MaxSequenceIdleMicroseconds);
        Assert.NotNull(batching.Direct);
        Assert.Equal(["START", "END", "READY"], batching.ControlInput.Select(c => c.Name));
        Assert.Equal(
            [
                ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceStart,
                ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceEnd,
                ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceReady,
            ],
            batching.ControlInput.Select(c => c.Control.Single().Kind));
        Assert.All(batching.ControlInput, c => Assert.Equal([0, 1], c.Control.Single().Int32FalseTrue));
    }
}

/// <summary>The version ServerMetadata reports is a setting.</summary>
public sealed class ServerVersionTests
{
    [Fact]
    public async Task Server_metadata_reports_the_configured_version()
    {
        await using var server = await SimulatedTritonServer.StartAsync(SimulationOptions.Default with { ServerVersion = "2.71.0" });

        var metadata = await server.Client.ServerMetadataAsync(new ServerMetadataRequest());

        Assert.Equal(("triton", "2.71.0"), (metadata.Name, metadata.Version));
    }
}
