using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Simulation.Tests;

/// <summary>The default model set and the configuration binder.</summary>
public class SimulationOptionsTests
{
    private static IConfigurationSection Section(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("Simulation:" + v.Key, v.Value)))
            .Build()
            .GetSection("Simulation");

    private static SimulationConfigException Invalid(params (string Key, string Value)[] values) =>
        Assert.Throws<SimulationConfigException>(() => SimulationOptions.Bind(Section(values)));

    [Fact]
    public void Default_set_has_simple_an_echo_model_per_datatype_llm_and_simple_sequence()
    {
        var models = SimulationOptions.Default.Models;
        Assert.Equal(17, models.Count);

        var simple = models.Single(m => m.Name == "simple");
        Assert.Equal(SimulatedModelKind.Tensor, simple.Kind);
        Assert.Equal(32, simple.MaxBatchSize);
        Assert.Equal(1, simple.Instances);
        Assert.Equal(TimeSpan.FromMilliseconds(5), simple.BaseLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(0.2), simple.PerItemLatency);
        Assert.Equal(TimeSpan.Zero, simple.Jitter);
        Assert.Equal(TimeSpan.FromMilliseconds(11.4), simple.ExecutionTime(32));
        Assert.Equal(("INPUT0", TensorDataType.Fp32), (simple.Inputs.Single().Name, simple.Inputs.Single().DataType));
        Assert.Equal([16L], simple.Inputs.Single().Dims);
        Assert.Equal("OUTPUT0", simple.Outputs.Single().Name);

        foreach (var type in TensorDataTypes.All)
        {
            var echo = models.Single(m => m.Name == SimulationOptions.EchoModelName(type));
            Assert.Equal(64, echo.MaxBatchSize);
            Assert.Equal(2, echo.Instances);
            Assert.Equal(TimeSpan.FromMilliseconds(0.2), echo.BaseLatency);
            Assert.Equal(TimeSpan.FromMilliseconds(0.01), echo.PerItemLatency);
            Assert.Equal(type, echo.Inputs.Single().DataType);
            Assert.Equal([-1L], echo.Inputs.Single().Dims);
            Assert.Equal(type, echo.Outputs.Single().DataType);
        }

        Assert.Contains(models, m => m.Name == "echo_bf16");
        Assert.Contains(models, m => m.Name == "echo_bytes");

        var llm = models.Single(m => m.Name == "llm");
        Assert.Equal(SimulatedModelKind.Llm, llm.Kind);
        Assert.Equal(0, llm.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(50), llm.TimeToFirstToken);
        Assert.Equal(50, llm.TokensPerSecond);
        Assert.Equal(16, llm.DefaultMaxTokens);
        Assert.Equal(["text_input", "max_tokens"], llm.Inputs.Select(i => i.Name));
        Assert.True(llm.Inputs[1].Optional);
        Assert.Equal(TensorDataType.Int32, llm.Inputs[1].DataType);
        Assert.Equal("text_output", llm.Outputs.Single().Name);

        var sequence = models.Single(m => m.Name == "simple_sequence");
        Assert.Equal(SimulatedModelKind.Sequence, sequence.Kind);
        Assert.Equal(8, sequence.MaxBatchSize);
        Assert.Equal(1, sequence.Instances);
        Assert.Equal(TimeSpan.FromMilliseconds(1), sequence.BaseLatency);
        Assert.Equal(TimeSpan.FromSeconds(1), sequence.MaxSequenceIdle);
        Assert.Equal(("INPUT", TensorDataType.Int32), (sequence.Inputs.Single().Name, sequence.Inputs.Single().DataType));
        Assert.Equal([1L], sequence.Inputs.Single().Dims);
        Assert.Equal(("OUTPUT", TensorDataType.Int32), (sequence.Outputs.Single().Name, sequence.Outputs.Single().DataType));

        var defaults = SimulationOptions.Default;
        Assert.Equal("2.70.0", defaults.ServerVersion);
        Assert.Equal(SimulatedModelControl.None, defaults.ModelControl);
        Assert.Empty(defaults.LoadModels);
        Assert.False(defaults.AllowClientShm);
        Assert.Equal("", defaults.TraceFile);
        Assert.Equal("/dev/shm", defaults.SharedMemoryDirectory);
        defaults.Validate();
    }

    [Fact]
    public void A_section_without_models_binds_to_the_default_set()
    {
        Assert.Same(SimulationOptions.Default, SimulationOptions.Bind(Section()));

        var options = SimulationOptions.Bind(Section(("AllowClientShm", "true")));
        Assert.Same(SimulationOptions.DefaultModels, options.Models);
        Assert.True(options.AllowClientShm);
    }

    [Fact]
    public void Server_settings_bind_and_unknown_ones_are_reported()
    {
        var options = SimulationOptions.Bind(Section(
            ("ServerVersion", "2.71.0"),
            ("ModelControl", "Explicit"),
            ("LoadModels:0", "simple"),
            ("LoadModels:1", "llm"),
            ("AllowClientShm", "false"),
            ("TraceFile", "/tmp/trace.json"),
            ("SharedMemoryDirectory", "/run/shm")));

        Assert.Equal("2.71.0", options.ServerVersion);
        Assert.Equal(SimulatedModelControl.Explicit, options.ModelControl);
        Assert.Equal(["simple", "llm"], options.LoadModels);
        Assert.False(options.AllowClientShm);
        Assert.Equal("/tmp/trace.json", options.TraceFile);
        Assert.Equal("/run/shm", options.SharedMemoryDirectory);
        Assert.Equal(["*"], SimulationOptions.Bind(Section(("ModelControl", "explicit"), ("LoadModels", "*"))).LoadModels);

        Assert.Equal("Simulation:Port", Invalid(("Port", "8001")).Key);
        Assert.Contains("none or explicit", Invalid(("ModelControl", "poll")).Message, StringComparison.Ordinal);
        Assert.Contains("not true or false", Invalid(("AllowClientShm", "yes")).Message, StringComparison.Ordinal);
        Assert.Contains("requires ModelControl explicit", Invalid(("LoadModels", "simple")).Message, StringComparison.Ordinal);
        Assert.Contains("only entry", Invalid(("ModelControl", "explicit"), ("LoadModels", "*,simple")).Message, StringComparison.Ordinal);
        Assert.Contains("'nope' is not a model", Invalid(("ModelControl", "explicit"), ("LoadModels", "nope")).Message, StringComparison.Ordinal);
        Assert.Equal("Simulation:ServerVersion", Invalid(("ServerVersion", " ")).Key);
    }

    [Fact]
    public void A_sequence_model_binds_with_its_convention_and_checks_its_tensors()
    {
        var options = SimulationOptions.Bind(Section(("Models:0:Name", "acc"), ("Models:0:Kind", "sequence"), ("Models:0:MaxSequenceIdleMs", "250")));

        var acc = options.Models.Single();
        Assert.Equal(SimulatedModelKind.Sequence, acc.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(250), acc.MaxSequenceIdle);
        Assert.Equal(SimulatedModelOptions.SequenceInputs, acc.Inputs);
        Assert.Equal(SimulatedModelOptions.SequenceOutputs, acc.Outputs);

        Assert.Equal("Simulation:Models:0:MaxSequenceIdleMs",
            Invalid(("Models:0:Name", "acc"), ("Models:0:Kind", "Sequence"), ("Models:0:MaxSequenceIdleMs", "0")).Key);
        Assert.Equal("Simulation:Models:0:Inputs", Invalid(
            ("Models:0:Name", "acc"), ("Models:0:Kind", "Sequence"),
            ("Models:0:Inputs:0:Name", "X"), ("Models:0:Inputs:0:DataType", "FP32"), ("Models:0:Inputs:0:Dims", "1")).Key);
    }

    [Fact]
    public void A_valid_configuration_binds_every_setting()
    {
        var options = SimulationOptions.Bind(Section(
            ("Models:0:Name", "resnet"),
            ("Models:0:Kind", "Tensor"),
            ("Models:0:MaxBatchSize", "8"),
            ("Models:0:Instances", "3"),
            ("Models:0:BaseLatencyMs", "2.5"),
            ("Models:0:PerItemLatencyMs", "0.25"),
            ("Models:0:JitterMs", "1"),
            ("Models:0:JitterSeed", "99"),
            ("Models:0:Inputs:0:Name", "images"),
            ("Models:0:Inputs:0:DataType", "fp16"),
            ("Models:0:Inputs:0:Dims", "3,224,224"),
            ("Models:0:Inputs:1:Name", "ids"),
            ("Models:0:Inputs:1:DataType", "TYPE_STRING"),
            ("Models:0:Inputs:1:Dims:0", "-1"),
            ("Models:0:Inputs:2:Name", "flags"),
            ("Models:0:Inputs:2:DataType", "BOOL"),
            ("Models:0:Inputs:2:Dims", "[2]"),
            ("Models:0:Inputs:2:Optional", "true"),
            ("Models:0:Outputs:0:Name", "probs"),
            ("Models:0:Outputs:0:DataType", "FP16"),
            ("Models:0:Outputs:0:Dims", "3, 224, 224"),
            ("Models:1:Name", "chat"),
            ("Models:1:Kind", "llm"),
            ("Models:1:TimeToFirstTokenMs", "120"),
            ("Models:1:TokensPerSecond", "33.5"),
            ("Models:1:DefaultMaxTokens", "64"),
            ("Models:1:Instances", "2"),
            ("Models:2:Name", "mirror"),
            ("Models:2:Inputs:0:Name", "X"),
            ("Models:2:Inputs:0:DataType", "INT64"),
            ("Models:2:Inputs:0:Dims", "4")));

        Assert.Equal(3, options.Models.Count);
        var resnet = options.Models[0];
        Assert.Equal("resnet", resnet.Name);
        Assert.Equal(SimulatedModelKind.Tensor, resnet.Kind);
        Assert.Equal(8, resnet.MaxBatchSize);
        Assert.Equal(3, resnet.Instances);
        Assert.Equal(TimeSpan.FromMilliseconds(2.5), resnet.BaseLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(0.25), resnet.PerItemLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(1), resnet.Jitter);
        Assert.Equal(99, resnet.JitterSeed);
        Assert.Equal(["images", "ids", "flags"], resnet.Inputs.Select(i => i.Name));
        Assert.Equal([TensorDataType.Fp16, TensorDataType.Bytes, TensorDataType.Bool], resnet.Inputs.Select(i => i.DataType));
        Assert.Equal([3L, 224L, 224L], resnet.Inputs[0].Dims);
        Assert.Equal([-1L], resnet.Inputs[1].Dims);
        Assert.Equal([2L], resnet.Inputs[2].Dims);
        Assert.Equal([false, false, true], resnet.Inputs.Select(i => i.Optional));
        Assert.Equal("probs", resnet.Outputs.Single().Name);
        Assert.Equal([3L, 224L, 224L], resnet.Outputs[0].Dims);

        var chat = options.Models[1];
        Assert.Equal(SimulatedModelKind.Llm, chat.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(120), chat.TimeToFirstToken);
        Assert.Equal(33.5, chat.TokensPerSecond);
        Assert.Equal(64, chat.DefaultMaxTokens);
        Assert.Equal(2, chat.Instances);
        Assert.Equal(SimulatedModelOptions.LlmInputs, chat.Inputs);
        Assert.Equal(SimulatedModelOptions.LlmOutputs, chat.Outputs);

        // Without outputs, output k mirrors input k; unset settings take their defaults.
        var mirror = options.Models[2];
        var output = mirror.Outputs.Single();
        Assert.Equal(("OUTPUT0", TensorDataType.Int64), (output.Name, output.DataType));
        Assert.Equal([4L], output.Dims);
        Assert.Equal(0, mirror.MaxBatchSize);
        Assert.Equal(1, mirror.Instances);
        Assert.Equal(TimeSpan.FromMilliseconds(1), mirror.BaseLatency);
    }

    [Theory]
    [InlineData("Models:0:BaseLatencyMs", "-1", "negative")]
    [InlineData("Models:0:PerItemLatencyMs", "-0.5", "negative")]
    [InlineData("Models:0:JitterMs", "fast", "not a number")]
    [InlineData("Models:0:BaseLatencyMs", "7200000", "one hour")]
    [InlineData("Models:0:MaxBatchSize", "-2", "negative")]
    [InlineData("Models:0:MaxBatchSize", "1.5", "whole number")]
    [InlineData("Models:0:Instances", "0", "at least one instance")]
    [InlineData("Models:0:Instances", "100000", "limit of 256")]
    [InlineData("Models:0:Kind", "Vision", "unknown kind")]
    [InlineData("Models:0:BaseLatency", "5", "unknown setting")]
    [InlineData("Models:0:Inputs:0:DataType", "FLOAT", "unknown datatype 'FLOAT'")]
    [InlineData("Models:0:Inputs:0:Dims", "16,x", "not a dimension")]
    [InlineData("Models:0:Inputs:0:Dims", "0", "dimension 0")]
    [InlineData("Models:0:Inputs:0:Optional", "maybe", "not true or false")]
    [InlineData("Models:0:Inputs:0:Shape", "16", "unknown setting")]
    public void An_invalid_tensor_model_value_is_reported_with_its_full_key(string key, string value, string reason)
    {
        var settings = new Dictionary<string, string>
        {
            ["Models:0:Name"] = "m",
            ["Models:0:Inputs:0:Name"] = "INPUT0",
            ["Models:0:Inputs:0:DataType"] = "FP32",
            ["Models:0:Inputs:0:Dims"] = "16",
            [key] = value,
        };

        var e = Invalid([.. settings.Select(kv => (kv.Key, kv.Value))]);

        Assert.Equal("Simulation:" + key, e.Key);
        Assert.StartsWith("Simulation:" + key + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Models:0:TokensPerSecond", "0", "more than zero")]
    [InlineData("Models:0:TokensPerSecond", "-3", "more than zero")]
    [InlineData("Models:0:DefaultMaxTokens", "0", "at least one token")]
    [InlineData("Models:0:TimeToFirstTokenMs", "-10", "negative")]
    [InlineData("Models:0:MaxBatchSize", "4", "no batch dimension")]
    public void An_invalid_llm_value_is_reported_with_its_full_key(string key, string value, string reason)
    {
        var e = Invalid(("Models:0:Name", "chat"), ("Models:0:Kind", "Llm"), (key, value));

        Assert.Equal("Simulation:" + key, e.Key);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_model_name_is_reported_at_the_second_model()
    {
        var e = Invalid(("Models:0:Name", "chat"), ("Models:0:Kind", "Llm"), ("Models:1:Name", "chat"), ("Models:1:Kind", "Llm"));

        Assert.Equal("Simulation:Models:1:Name", e.Key);
        Assert.Contains("duplicate model name 'chat'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Simulation:Models:0:Name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Structural_errors_name_their_key()
    {
        Assert.Equal("Simulation:Models:0:Name", Invalid(("Models:0:Kind", "Llm")).Key);
        Assert.Equal("Simulation:Models:0:Inputs", Invalid(("Models:0:Name", "m")).Key);
        Assert.Equal("Simulation:Models:simple", Invalid(("Models:simple:Kind", "Llm")).Key);
        Assert.Equal("Simulation:Models:1", Invalid(("Models:1:Name", "m"), ("Models:1:Kind", "Llm")).Key);
        Assert.Equal("Simulation:Models:0:Inputs:0:DataType", Invalid(("Models:0:Name", "m"), ("Models:0:Inputs:0:Name", "X")).Key);

        var mismatch = Invalid(
            ("Models:0:Name", "m"),
            ("Models:0:Inputs:0:Name", "X"), ("Models:0:Inputs:0:DataType", "FP32"), ("Models:0:Inputs:0:Dims", "4"),
            ("Models:0:Outputs:0:Name", "Y"), ("Models:0:Outputs:0:DataType", "INT8"), ("Models:0:Outputs:0:Dims", "4"));
        Assert.Equal("Simulation:Models:0:Outputs:0:DataType", mismatch.Key);

        var llmInput = Invalid(
            ("Models:0:Name", "chat"), ("Models:0:Kind", "Llm"),
            ("Models:0:Inputs:0:Name", "prompt"), ("Models:0:Inputs:0:DataType", "BYTES"), ("Models:0:Inputs:0:Dims", "1"));
        Assert.Equal("Simulation:Models:0:Inputs:0:Name", llmInput.Key);
    }

    [Fact]
    public void Options_built_in_code_are_validated_by_the_simulation_with_the_same_keys()
    {
        var options = new SimulationOptions
        {
            Models = [SimulatedModelOptions.LlmModel("chat") with { TokensPerSecond = 0 }],
        };

        var e = Assert.Throws<SimulationConfigException>(() => new SimulatedTriton(options));

        Assert.Equal("Models:0:TokensPerSecond", e.Key);
    }

    [Fact]
    public async Task A_host_with_invalid_options_fails_to_start()
    {
        var options = new SimulationOptions { Models = [SimulatedModelOptions.SingleTensor("m", TensorDataType.Fp32, 4) with { Instances = 0 }] };

        var e = await Assert.ThrowsAsync<SimulationConfigException>(() => Infrastructure.SimulatedTritonServer.StartAsync(options));

        Assert.Equal("Models:0:Instances", e.Key);
    }

    [Fact]
    public void Binding_from_the_configuration_root_uses_keys_without_a_prefix()
    {
        var root = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Models:0:Name", "m"), new("Models:0:Kind", "Llm"), new("Models:0:DefaultMaxTokens", "-1")])
            .Build();

        var e = Assert.Throws<SimulationConfigException>(() => SimulationOptions.Bind(root));

        Assert.Equal("Models:0:DefaultMaxTokens", e.Key);
    }
}
