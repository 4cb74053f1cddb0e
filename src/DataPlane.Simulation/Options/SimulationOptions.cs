using DataPlane.Protocol.Tensors;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Simulation.Options;

/// <summary>Settings of the simulated Triton: the models of its repository, which of them it loads, and the server
/// options of Triton it imitates (version, model control, client shared memory, trace file).</summary>
public sealed record SimulationOptions
{
    /// <summary>Triton's release whose behaviour the simulation imitates (container 26.06).</summary>
    public const string TritonVersion = "2.70.0";

    /// <summary>The entry of <see cref="LoadModels"/> that loads every model.</summary>
    public const string AllModels = "*";

    /// <summary>The models of the simulated repository. Default <see cref="DefaultModels"/>.</summary>
    public IReadOnlyList<SimulatedModelOptions> Models { get; init; } = DefaultModels;

    /// <summary>The version ServerMetadata reports. Default <see cref="TritonVersion"/>, the release imitated.</summary>
    public string ServerVersion { get; init; } = TritonVersion;

    /// <summary>Triton's <c>--model-control-mode</c>: <see cref="SimulatedModelControl.None"/> (the default, as in
    /// Triton's command line) loads every model at start and refuses load and unload;
    /// <see cref="SimulatedModelControl.Explicit"/> loads only <see cref="LoadModels"/> and serves load and unload.</summary>
    public SimulatedModelControl ModelControl { get; init; } = SimulatedModelControl.None;

    /// <summary>Triton's <c>--load-model</c>: in explicit mode, the models loaded at start; <c>*</c> alone loads
    /// them all. Default none. Naming models in <see cref="SimulatedModelControl.None"/> mode is an error, as in
    /// Triton.</summary>
    public IReadOnlyList<string> LoadModels { get; init; } = [];

    /// <summary>Triton's <c>--allow-client-shm</c>: whether clients may register and unregister system shared-memory
    /// regions and unregister CUDA ones (registering CUDA memory is refused either way, as by a Triton without GPUs).
    /// Default false, as in Triton 2.68 and later; status calls always answer.</summary>
    public bool AllowClientShm { get; init; }

    /// <summary>The trace file TraceSetting reports (Triton's <c>--trace-config triton,file=…</c>). Default empty,
    /// with which Triton refuses to turn tracing on. The simulation never writes it.</summary>
    public string TraceFile { get; init; } = "";

    /// <summary>Where the POSIX shared-memory objects that clients register live (<c>shm_open</c> names).
    /// Default <c>/dev/shm</c>.</summary>
    public string SharedMemoryDirectory { get; init; } = "/dev/shm";

    /// <summary>A slowdown window for load-balancing benchmarks (no Triton counterpart): from
    /// <see cref="SlowdownAfter"/> after start, for <see cref="SlowdownFor"/> (zero: until stopped), every LLM model's
    /// time to first token and token period are multiplied by this. Default 1 (no slowdown).</summary>
    public double SlowdownFactor { get; init; } = 1;

    /// <summary>When the slowdown window opens, counted from the simulator's start. Default zero.</summary>
    public TimeSpan SlowdownAfter { get; init; }

    /// <summary>How long the slowdown window lasts; zero: until the simulator stops. Default zero.</summary>
    public TimeSpan SlowdownFor { get; init; }

    /// <summary>The default model set:
    /// <list type="bullet">
    /// <item><c>simple</c>: INPUT0 FP32 [16] → OUTPUT0 FP32 [16], max_batch_size 32, 1 instance,
    /// 5 ms + 0.2 ms per row, no jitter (capacity 32 rows / 11.4 ms ≈ 2800 rows/s).</item>
    /// <item><c>echo_bool</c>, <c>echo_uint8</c> … <c>echo_bytes</c>: one per datatype, INPUT0 [-1] →
    /// OUTPUT0 of the same datatype, max_batch_size 64, 2 instances, 0.2 ms + 0.01 ms per row.</item>
    /// <item><c>llm</c>: decoupled, <c>text_input</c> BYTES [1], optional <c>max_tokens</c> INT32 [1] →
    /// <c>text_output</c> BYTES [1]; 50 ms to the first token, 50 tokens/s, 16 tokens by default.</item>
    /// <item><c>simple_sequence</c>: a stateful model under Triton's direct sequence batcher, INPUT INT32 [1] →
    /// OUTPUT INT32 [1], the running sum of the sequence's inputs; max_batch_size 8, 1 instance, 1 ms per step,
    /// sequences idle for 1 s are dropped.</item>
    /// </list></summary>
    public static IReadOnlyList<SimulatedModelOptions> DefaultModels { get; } = CreateDefaultModels();

    /// <summary>Options holding <see cref="DefaultModels"/>.</summary>
    public static SimulationOptions Default { get; } = new();

    /// <summary>Name of the echo model of <paramref name="type"/> in the default set, e.g. <c>echo_fp32</c>.</summary>
    public static string EchoModelName(TensorDataType type) => "echo_" + type.WireName().ToLowerInvariant();

    /// <summary>Reads options from a configuration section (reflection-free, NativeAOT-safe).
    /// Keys, relative to <paramref name="section"/>: <c>ServerVersion</c>, <c>ModelControl</c> (none | explicit),
    /// <c>LoadModels</c> ("a,b", "*", or <c>LoadModels:0</c> …), <c>AllowClientShm</c>, <c>TraceFile</c>,
    /// <c>SharedMemoryDirectory</c>, and for model <c>N</c>:
    /// <c>Models:N:Name</c>, <c>Kind</c> (Tensor | Llm | Sequence), <c>MaxBatchSize</c>, <c>Instances</c>,
    /// <c>BaseLatencyMs</c>, <c>PerItemLatencyMs</c>, <c>JitterMs</c>, <c>JitterSeed</c>,
    /// <c>TimeToFirstTokenMs</c>, <c>TokensPerSecond</c>, <c>DefaultMaxTokens</c>, <c>MaxSequenceIdleMs</c>, and per
    /// tensor <c>M</c> <c>Inputs:M:Name</c>, <c>Inputs:M:DataType</c> (wire name, e.g. FP32), <c>Inputs:M:Dims</c>
    /// ("16", "3,224,224", "-1", or the array form <c>Dims:0</c>, <c>Dims:1</c> …),
    /// <c>Inputs:M:Optional</c>, and the same for <c>Outputs:M</c>. A tensor model without outputs
    /// gets <c>OUTPUTk</c> mirroring input <c>k</c>; an LLM or sequence model without inputs or outputs gets its
    /// convention. When the section has no <c>Models</c>, the default set is served; configured models replace it.
    /// Unknown keys are errors. An empty section returns <see cref="Default"/>.</summary>
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
        models.Add(SimulatedModelOptions.SequenceModel("simple_sequence") with
        {
            MaxBatchSize = 8,
            Instances = 1,
            BaseLatency = TimeSpan.FromMilliseconds(1),
            MaxSequenceIdle = TimeSpan.FromSeconds(1),
        });
        return [.. models];
    }
}
