using System.Collections.Frozen;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Simulation;

/// <summary>The simulated Triton's state: its models, their executors and statistics, and the
/// timer that paces LLM tokens. One instance serves any number of <see cref="SimulatedTritonService"/>
/// calls; dispose it to stop its threads (requests still waiting then fail with UNAVAILABLE).</summary>
public sealed partial class SimulatedTriton : IDisposable
{
    /// <summary>Name reported by ServerMetadata.</summary>
    public const string ServerName = "dataplane-simulated-triton";

    private readonly FrozenDictionary<string, SimulatedModel> _models;
    private readonly SimulatedModel[] _ordered;
    private readonly ILogger _logger;
    private volatile bool _ready = true;
    private int _disposed;

    /// <summary>Starts the simulated models of <paramref name="options"/>.</summary>
    /// <exception cref="SimulationConfigException">The options are invalid.</exception>
    public SimulatedTriton(SimulationOptions options, ILogger<SimulatedTriton>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _ordered = options.Models.Select(m => new SimulatedModel(m)).ToArray();
        _models = _ordered.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
        Timer = new PreciseTimer("sim-token-timer");
        Log.Started(_logger, _ordered.Length, string.Join(", ", _ordered.Select(m => m.Name)));
    }

    /// <summary>The options served.</summary>
    public SimulationOptions Options { get; }

    /// <summary>The models served, in configuration order.</summary>
    public IReadOnlyList<SimulatedModelOptions> Models => Options.Models;

    /// <summary>What ServerReady and ModelReady answer; while false, inference requests fail with
    /// UNAVAILABLE (as Triton does while it starts or shuts down). Lets tests take the upstream
    /// "down" and back. Default true.</summary>
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

    internal PreciseTimer Timer { get; }

    internal IReadOnlyList<SimulatedModel> OrderedModels => _ordered;

    internal bool TryGetModel(string name, out SimulatedModel model) => _models.TryGetValue(name, out model!);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _ready = false;
        foreach (var model in _ordered)
        {
            model.Dispose();
        }

        Timer.Dispose();
        Log.Stopped(_logger);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Simulated Triton started with {Count} simulated models: {Models}")]
        public static partial void Started(ILogger logger, int count, string models);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Simulated Triton stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Simulated Triton readiness set to {Ready}")]
        public static partial void ReadinessChanged(ILogger logger, bool ready);
    }
}
