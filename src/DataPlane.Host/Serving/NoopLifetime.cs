using Microsoft.Extensions.Hosting;

namespace DataPlane.Host.Serving;

/// <summary>A host lifetime that ignores SIGTERM/SIGINT: for a server embedded in another whose own
/// lifetime decides when it stops (the embedded simulator must outlive the daemon's drain).</summary>
internal sealed class NoopLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
