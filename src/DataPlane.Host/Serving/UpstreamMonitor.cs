using DataPlane.Batching.Models;

namespace DataPlane.Host.Serving;

/// <summary>Runs the registry's upstream health loop for the daemon's lifetime.</summary>
internal sealed class UpstreamMonitor(ModelRegistry registry) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => registry.RunHealthLoopAsync(stoppingToken);
}
