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

    /// <summary>Tensor and sequence models: executors, each running one request at a time (Triton's
    /// instance_group count). LLM models run every request concurrently and only report the count.
    /// Default 1; at most 256.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>Declared inputs. Tensor models: output <c>k</c> is computed from input <c>k</c>.
    /// LLM models: <c>text_input</c> (BYTES) and optionally <c>max_tokens</c> (INT32, optional).</summary>
    public IReadOnlyList<SimulatedTensorOptions> Inputs { get; init; } = [];

    /// <summary>Declared outputs. Tensor models: output <c>k</c> has the datatype and dims of input
    /// <c>k</c>. LLM models: <c>text_output</c> (BYTES).</summary>
    public IReadOnlyList<SimulatedTensorOptions> Outputs { get; init; } = [];

    /// <summary>Tensor and sequence models: fixed cost of one execution. Default 1 ms. Every latency is at most one hour.</summary>
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

    /// <summary>Sequence models: Triton's <c>max_sequence_idle_microseconds</c>. A sequence that receives no request
    /// for this long (and has none waiting) is dropped, and its next step without START fails. Default 1 s (Triton's
    /// default); at most one hour.</summary>
    public TimeSpan MaxSequenceIdle { get; init; } = TimeSpan.FromSeconds(1);

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

    /// <summary>A sequence model like Triton's <c>simple_sequence</c> example: <c>INPUT</c> INT32 [1] →
    /// <c>OUTPUT</c> INT32 [1]; other settings take their defaults.</summary>
    public static SimulatedModelOptions SequenceModel(string name) => new()
    {
        Name = name,
        Kind = SimulatedModelKind.Sequence,
        Inputs = SequenceInputs,
        Outputs = SequenceOutputs,
    };

    /// <summary>The input of a sequence model: the value added to the sequence's running sum.</summary>
    public static IReadOnlyList<SimulatedTensorOptions> SequenceInputs { get; } = [new("INPUT", TensorDataType.Int32, [1])];

    /// <summary>The output of a sequence model: the running sum, this step's input included.</summary>
    public static IReadOnlyList<SimulatedTensorOptions> SequenceOutputs { get; } = [new("OUTPUT", TensorDataType.Int32, [1])];

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
