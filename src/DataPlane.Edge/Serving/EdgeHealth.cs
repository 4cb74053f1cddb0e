using DataPlane.Edge.Runtimes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Edge.Serving;

/// <summary>Whether the agent can answer: the local runtime's health endpoint, checked every
/// <see cref="Interval"/>, and the GPU pool's availability (configured, breaker not open). Ready
/// means at least one of them can answer. Each time the local runtime becomes ready, a runtime that reports its
/// parallelism (<see cref="IReportsParallelism"/>: llama.cpp's slots) is asked for it, so that a restarted runtime with
/// another <c>--parallel</c> is followed; <c>Local:Parallelism</c> overrides the answer.</summary>
public sealed partial class EdgeHealth : BackgroundService
{
    private readonly EdgeService _service;
    private readonly ILogger _logger;
    private volatile bool _localReady;
    private volatile string _localProblem = "not checked yet";

    public EdgeHealth(EdgeService service, TimeSpan? interval = null, ILogger? logger = null)
    {
        _service = service;
        _logger = logger ?? NullLogger.Instance;
        Interval = interval ?? TimeSpan.FromSeconds(2);
    }

    public TimeSpan Interval { get; }

    public bool LocalReady => _localReady;

    public bool CanAnswer => _localReady || _service.GpuAvailable;

    public string Describe() =>
        $"local runtime {_service.Local.Name}: {(_localReady ? "ready" : _localProblem)}; GPU pool: " +
        (!_service.Gpu.Configured ? "not configured" : _service.GpuAvailable ? "available" : $"unavailable (breaker {_service.Breaker.State})");

    /// <summary>Checks the local runtime once.</summary>
    public async Task CheckNowAsync(CancellationToken cancellationToken)
    {
        try
        {
            bool wasReady = _localReady;
            _localReady = await _service.Local.IsHealthyAsync(cancellationToken).ConfigureAwait(false);
            _localProblem = _localReady ? "" : "health check says not ready";
            if (_localReady && !wasReady)
            {
                await LearnParallelismAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            _localReady = false;
            _localProblem = e.Message;
        }
    }

    /// <summary>Asks the runtime how many generations it serves at once, when it says (llama.cpp, the simulation).</summary>
    private async Task LearnParallelismAsync(CancellationToken cancellationToken)
    {
        var capacity = _service.LocalCapacity;
        if (_service.Local is not IReportsParallelism reporter)
        {
            Log.Parallelism(_logger, _service.Local.Name, capacity.Capacity, capacity.Source);
            return;
        }

        int? reported = await reporter.ReadParallelismAsync(cancellationToken).ConfigureAwait(false);
        capacity.Report(reported);
        if (reported == null && capacity.Options.Parallelism == null)
        {
            Log.ParallelismUnknown(_logger, _service.Local.Name, capacity.Capacity);
        }
        else
        {
            Log.Parallelism(_logger, _service.Local.Name, capacity.Capacity, capacity.Source);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            await CheckNowAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await Next(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> Next(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4261, Level = LogLevel.Information,
            Message = "Local runtime {Runtime} serves {Capacity} generations at once ({Source}); past that, requests escalate, wait or are refused")]
        public static partial void Parallelism(ILogger logger, string runtime, int capacity, string source);

        [LoggerMessage(EventId = 4262, Level = LogLevel.Warning,
            Message = "Local runtime {Runtime} did not report its slots (GET /props total_slots); assuming {Capacity} generations at once. Set Local:Parallelism to its --parallel")]
        public static partial void ParallelismUnknown(ILogger logger, string runtime, int capacity);
    }
}
