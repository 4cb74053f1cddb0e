using DataPlane.Protocol;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Repository;
using DataPlane.Simulation.Sequences;
using DataPlane.Simulation.Settings;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Simulation;

/// <summary>The simulated Triton's state: its model repository (loaded models with their executors, sequences and
/// statistics), the client shared-memory regions, the trace and log settings, and the timer that paces LLM tokens.
/// One instance serves any number of <see cref="SimulatedTritonService"/> calls; dispose it to stop its threads
/// (requests still waiting then fail with UNAVAILABLE).</summary>
public sealed partial class SimulatedTriton : IDisposable
{
    /// <summary>Name reported by ServerMetadata: Triton's default server id.</summary>
    public const string ServerName = "triton";

    private readonly ILogger _logger;
    private volatile bool _ready = true;

    /// <summary>The <c>traceparent</c> values received, which Triton would continue in its own traces.</summary>
    public TraceParents TraceParents { get; } = new();
    private int _disposed;

    /// <summary>Starts the simulated repository of <paramref name="options"/>: every model in model control
    /// <c>none</c>, the <see cref="SimulationOptions.LoadModels"/> in <c>explicit</c>.</summary>
    /// <param name="options">What to serve.</param>
    /// <param name="logger">Where the simulation logs; none when null.</param>
    /// <param name="time">The clock of sequence idle timeouts and statistics timestamps; the system's when null.</param>
    /// <exception cref="SimulationConfigException">The options are invalid.</exception>
    public SimulatedTriton(SimulationOptions options, ILogger<SimulatedTriton>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Time = time ?? TimeProvider.System;
        Repository = new ModelRepository(options, Time, _logger);
        SharedMemory = new SharedMemoryRegions(options.SharedMemoryDirectory);
        Trace = new TraceSettings(options.TraceFile);
        Timer = new PreciseTimer("sim-token-timer");
        StartedNs = PreciseTimer.Now;
        Log.Started(_logger, options.ServerVersion, options.Models.Count, string.Join(", ", Repository.ReadyModels().Select(m => m.Name)));
    }

    /// <summary>The options served.</summary>
    public SimulationOptions Options { get; }

    /// <summary>The models of the repository, in configuration order (loaded or not).</summary>
    public IReadOnlyList<SimulatedModelOptions> Models => Options.Models;

    /// <summary>What ServerReady and the health check answer; while false, model requests fail with UNAVAILABLE
    /// <c>Server not ready</c> (as Triton's do while it starts or shuts down). Lets tests take the upstream "down"
    /// and back. Default true.</summary>
    public bool Ready
    {
        get => _ready;
        set
        {
            if (_ready != value)
            {
                _ready = value;
                Log.ReadinessChanged(_logger, value);
            }
        }
    }

    internal TimeProvider Time { get; }

    internal ModelRepository Repository { get; }

    internal SharedMemoryRegions SharedMemory { get; }

    internal TraceSettings Trace { get; }

    internal LogSettings Logs { get; } = new();

    internal PreciseTimer Timer { get; }

    internal long StartedNs { get; }

    /// <summary>The factor LLM latencies are multiplied by at <paramref name="nowNs"/> (<see cref="SimulationOptions.SlowdownFactor"/>
    /// inside its window, else 1).</summary>
    internal double SlowdownAt(long nowNs)
    {
        if (Options.SlowdownFactor == 1)
        {
            return 1;
        }

        long from = StartedNs + (Options.SlowdownAfter.Ticks * 100);
        bool inside = nowNs >= from && (Options.SlowdownFor == TimeSpan.Zero || nowNs < from + (Options.SlowdownFor.Ticks * 100));
        return inside ? Options.SlowdownFactor : 1;
    }

    internal ILogger Logger => _logger;

    /// <summary>What the sequence batcher of <paramref name="model"/> has seen since the model was last loaded; null
    /// when it is not a loaded sequence model.</summary>
    public SimulatedSequenceRecord? SequenceRecord(string model) =>
        Repository.TryGet(model, -1, enter: false, out var loaded) == null ? loaded!.Sequences?.Record : null;

    /// <summary>Finds a model for a request as Triton does: UNAVAILABLE while not ready, INVALID_ARGUMENT for a bad
    /// version string, then the repository's lookup. With <paramref name="enter"/> the caller must
    /// <see cref="SimulatedModel.Exit"/> the model it gets.</summary>
    internal RequestError? TryGetModel(string name, string version, bool enter, out SimulatedModel? model)
    {
        model = null;
        if (!_ready)
        {
            return new RequestError(StatusCode.Unavailable, TritonErrors.ServerNotReady);
        }

        return TritonErrors.TryParseVersion(version, out long number) ?? Repository.TryGet(name, number, enter, out model);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _ready = false;
        Repository.Dispose();
        SharedMemory.Dispose();
        Timer.Dispose();
        Log.Stopped(_logger);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Information,
            Message = "Simulated Triton {Version} started with {Count} models in its repository; loaded: {Models}")]
        public static partial void Started(ILogger logger, string version, int count, string models);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Simulated Triton stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Simulated Triton readiness set to {Ready}")]
        public static partial void ReadinessChanged(ILogger logger, bool ready);
    }
}
