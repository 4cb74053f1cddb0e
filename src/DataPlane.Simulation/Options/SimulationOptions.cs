using DataPlane.Protocol.Tensors;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Simulation.Options;

/// <summary>Settings of the simulated Triton: the models it serves.</summary>
public sealed record SimulationOptions
{
    /// <summary>The models served. Default <see cref="DefaultModels"/>.</summary>
    public IReadOnlyList<SimulatedModelOptions> Models { get; init; } = DefaultModels;

    /// <summary>The default model set:
    /// <list type="bullet">
    /// <item><c>simple</c>: INPUT0 FP32 [16] → OUTPUT0 FP32 [16], max_batch_size 32, 1 instance,
    /// 5 ms + 0.2 ms per row, no jitter (capacity 32 rows / 11.4 ms ≈ 2800 rows/s).</item>
    /// <item><c>echo_bool</c>, <c>echo_uint8</c> … <c>echo_bytes</c>: one per datatype, INPUT0 [-1] →
    /// OUTPUT0 of the same datatype, max_batch_size 64, 2 instances, 0.2 ms + 0.01 ms per row.</item>
    /// <item><c>llm</c>: decoupled, <c>text_input</c> BYTES [1], optional <c>max_tokens</c> INT32 [1] →
    /// <c>text_output</c> BYTES [1]; 50 ms to the first token, 50 tokens/s, 16 tokens by default.</item>
    /// </list></summary>
    public static IReadOnlyList<SimulatedModelOptions> DefaultModels { get; } = CreateDefaultModels();

    /// <summary>Options holding <see cref="DefaultModels"/>.</summary>
    public static SimulationOptions Default { get; } = new();

    /// <summary>Name of the echo model of <paramref name="type"/> in the default set, e.g. <c>echo_fp32</c>.</summary>
    public static string EchoModelName(TensorDataType type) => "echo_" + type.WireName().ToLowerInvariant();

    /// <summary>Reads options from a configuration section (reflection-free, NativeAOT-safe).
    /// Keys, relative to <paramref name="section"/>, for model <c>N</c>:
    /// <c>Models:N:Name</c>, <c>Kind</c> (Tensor | Llm), <c>MaxBatchSize</c>, <c>Instances</c>,
    /// <c>BaseLatencyMs</c>, <c>PerItemLatencyMs</c>, <c>JitterMs</c>, <c>JitterSeed</c>,
    /// <c>TimeToFirstTokenMs</c>, <c>TokensPerSecond</c>, <c>DefaultMaxTokens</c>, and per tensor <c>M</c>
    /// <c>Inputs:M:Name</c>, <c>Inputs:M:DataType</c> (wire name, e.g. FP32), <c>Inputs:M:Dims</c>
    /// ("16", "3,224,224", "-1", or the array form <c>Dims:0</c>, <c>Dims:1</c> …),
    /// <c>Inputs:M:Optional</c>, and the same for <c>Outputs:M</c>. A tensor model without outputs
    /// gets <c>OUTPUTk</c> mirroring input <c>k</c>; an LLM model without inputs or outputs gets the
    /// LLM convention. When the section has no <c>Models</c>, <see cref="Default"/> is returned;
    /// configured models replace the default set.</summary>
    /// <exception cref="SimulationConfigException">A value is invalid; the message names its full key.</exception>
    public static SimulationOptions Bind(IConfiguration section) => SimulationOptionsBinder.Bind(section);

    /// <summary>Checks every model; throws for the first invalid setting, naming it by its
    /// configuration key under <paramref name="prefix"/> (e.g. <c>Models:2:TokensPerSecond</c>).</summary>
    /// <exception cref="SimulationConfigException">A setting is invalid.</exception>
    public void Validate(string prefix = "") => SimulationOptionsValidator.Validate(this, prefix);

    private static SimulatedModelOptions[] CreateDefaultModels()
    {
        var models = new List<SimulatedModelOptions>
        {
            SimulatedModelOptions.SingleTensor("simple", TensorDataType.Fp32, 16) with
            {
                MaxBatchSize = 32,
                Instances = 1,
                BaseLatency = TimeSpan.FromMilliseconds(5),
                PerItemLatency = TimeSpan.FromMilliseconds(0.2),
            },
        };

        foreach (var type in TensorDataTypes.All)
        {
            models.Add(SimulatedModelOptions.SingleTensor(EchoModelName(type), type, -1) with
            {
                MaxBatchSize = 64,
                Instances = 2,
                BaseLatency = TimeSpan.FromMilliseconds(0.2),
                PerItemLatency = TimeSpan.FromMilliseconds(0.01),
            });
        }

        models.Add(SimulatedModelOptions.LlmModel("llm") with
        {
            TimeToFirstToken = TimeSpan.FromMilliseconds(50),
            TokensPerSecond = 50,
            DefaultMaxTokens = 16,
        });
        return [.. models];
    }
}
