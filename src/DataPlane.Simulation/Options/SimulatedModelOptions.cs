using DataPlane.Protocol.Tensors;

namespace DataPlane.Simulation.Options;

/// <summary>One simulated model: its declaration (what ModelConfig and ModelMetadata report) and
/// its latency model. Immutable; every value has a documented default except <see cref="Name"/>.</summary>
public sealed record SimulatedModelOptions
{
    /// <summary>Model name, unique within the simulated repository. Required.</summary>
    public required string Name { get; init; }

    /// <summary>What the model does. Default <see cref="SimulatedModelKind.Tensor"/>.</summary>
    public SimulatedModelKind Kind { get; init; } = SimulatedModelKind.Tensor;

    /// <summary>Largest batch (first dimension) one request may carry; 0 means the model takes no
    /// batch dimension (its inputs have exactly <see cref="SimulatedTensorOptions.Dims"/>).
    /// Default 0. LLM models must use 0.</summary>
    public int MaxBatchSize { get; init; }

    /// <summary>Tensor models: executors, each running one request at a time (Triton's
    /// instance_group count). LLM models run every request concurrently and only report the count.
    /// Default 1; at most 256.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>Declared inputs. Tensor models: output <c>k</c> is computed from input <c>k</c>.
    /// LLM models: <c>text_input</c> (BYTES) and optionally <c>max_tokens</c> (INT32, optional).</summary>
    public IReadOnlyList<SimulatedTensorOptions> Inputs { get; init; } = [];

    /// <summary>Declared outputs. Tensor models: output <c>k</c> has the datatype and dims of input
    /// <c>k</c>. LLM models: <c>text_output</c> (BYTES).</summary>
    public IReadOnlyList<SimulatedTensorOptions> Outputs { get; init; } = [];

    /// <summary>Tensor models: fixed cost of one execution. Default 1 ms. Every latency is at most one hour.</summary>
    public TimeSpan BaseLatency { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Tensor models: extra cost per row of the request's batch. Default zero.</summary>
    public TimeSpan PerItemLatency { get; init; } = TimeSpan.Zero;

    /// <summary>Tensor models: each execution takes an extra uniform random time in [0, jitter].
    /// Default zero.</summary>
    public TimeSpan Jitter { get; init; } = TimeSpan.Zero;

    /// <summary>Seed of the jitter's random generator, so that a run's latencies repeat. Default 1.</summary>
    public int JitterSeed { get; init; } = 1;

    /// <summary>LLM models: delay from the request's arrival to its first token. Default 50 ms.</summary>
    public TimeSpan TimeToFirstToken { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>LLM models: tokens per second after the first. Default 50.</summary>
    public double TokensPerSecond { get; init; } = 50;

    /// <summary>LLM models: tokens generated when the request has no <c>max_tokens</c>. Default 16.</summary>
    public int DefaultMaxTokens { get; init; } = 16;

    /// <summary>Execution time of a request of <paramref name="rows"/> rows without jitter:
    /// <see cref="BaseLatency"/> + <see cref="PerItemLatency"/> × rows.</summary>
    public TimeSpan ExecutionTime(long rows) => BaseLatency + (PerItemLatency * rows);

    /// <summary>A tensor model with input <c>INPUT0</c> and output <c>OUTPUT0</c> of
    /// <paramref name="dataType"/> and <paramref name="dims"/>; other settings take their defaults.</summary>
    public static SimulatedModelOptions SingleTensor(string name, TensorDataType dataType, params long[] dims) => new()
    {
        Name = name,
        Inputs = [new SimulatedTensorOptions("INPUT0", dataType, dims)],
        Outputs = [new SimulatedTensorOptions("OUTPUT0", dataType, dims)],
    };

    /// <summary>An LLM model with Triton's convention: <c>text_input</c> BYTES [1], optional
    /// <c>max_tokens</c> INT32 [1] → <c>text_output</c> BYTES [1]; other settings take their defaults.</summary>
    public static SimulatedModelOptions LlmModel(string name) => new()
    {
        Name = name,
        Kind = SimulatedModelKind.Llm,
        Inputs = LlmInputs,
        Outputs = LlmOutputs,
    };

    /// <summary>The inputs of Triton's LLM convention.</summary>
    public static IReadOnlyList<SimulatedTensorOptions> LlmInputs { get; } =
    [
        new("text_input", TensorDataType.Bytes, [1]),
        new("max_tokens", TensorDataType.Int32, [1]) { Optional = true },
    ];

    /// <summary>The output of Triton's LLM convention.</summary>
    public static IReadOnlyList<SimulatedTensorOptions> LlmOutputs { get; } =
    [
        new("text_output", TensorDataType.Bytes, [1]),
    ];
}
