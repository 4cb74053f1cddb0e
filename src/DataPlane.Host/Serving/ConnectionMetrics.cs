using DataPlane.Hosting.Listeners;
using Prometheus;

namespace DataPlane.Host.Serving;

/// <summary>The daemon's connection metrics in its prometheus-net registry, read from the listeners' limiters at each
/// scrape: dataplane_connections_open, dataplane_connections_limit, dataplane_connections_accepted_total and
/// dataplane_connections_refused_total by listener, and process_max_fds (docs/METRICS.md).</summary>
internal static class ConnectionMetrics
{
    public static void Export(CollectorRegistry registry, ConnectionLimits limits)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var open = factory.CreateGauge("dataplane_connections_open", "Connections open on a listener.", "listener");
        var limit = factory.CreateGauge("dataplane_connections_limit",
            "Most connections a listener holds open at once; one more is closed at once and counted as refused.", "listener");
        var accepted = factory.CreateCounter("dataplane_connections_accepted_total", "Connections a listener accepted.", "listener");
        var refused = factory.CreateCounter("dataplane_connections_refused_total",
            "Connections a listener closed at once because it was at its limit.", "listener");
        var maxFds = factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        foreach (var limiter in limits)
        {
            // Every listener's series exists from the first scrape, at 0.
            accepted.WithLabels(limiter.Listener);
            refused.WithLabels(limiter.Listener);
        }

        registry.AddBeforeCollectCallback(() =>
        {
            maxFds.Set(limits.Descriptors.Soft);
            foreach (var limiter in limits)
            {
                open.WithLabels(limiter.Listener).Set(limiter.Open);
                limit.WithLabels(limiter.Listener).Set(limiter.Limit);
                accepted.WithLabels(limiter.Listener).IncTo(limiter.Accepted);
                refused.WithLabels(limiter.Listener).IncTo(limiter.Refused);
            }
        });
    }
}
