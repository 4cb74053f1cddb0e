using Microsoft.Extensions.Hosting;

namespace DataPlane.Edge.Serving;

/// <summary>Whether the agent can answer: the local runtime's health endpoint, checked every
/// <see cref="Interval"/>, and the GPU pool's availability (configured, breaker not open). Ready
/// means at least one of them can answer.</summary>
public sealed class EdgeHealth : BackgroundService
{
    private readonly EdgeService _service;
    private volatile bool _localReady;
    private volatile string _localProblem = "not checked yet";

    public EdgeHealth(EdgeService service, TimeSpan? interval = null)
    {
        _service = service;
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
            _localReady = await _service.Local.IsHealthyAsync(cancellationToken).ConfigureAwait(false);
            _localProblem = _localReady ? "" : "health check says not ready";
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            _localReady = false;
            _localProblem = e.Message;
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
}
