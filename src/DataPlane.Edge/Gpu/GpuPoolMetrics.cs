using DataPlane.Hosting.Metrics;

namespace DataPlane.Edge.Gpu;

/// <summary>Per-host metrics of the GPU pool client (label <c>host</c>: "address:port"; one child per address ever
/// seen, so bounded by the addresses configured or resolved).</summary>
public sealed class GpuPoolMetrics
{
    private readonly Counter _picks;
    private readonly Counter _ejections;

    public GpuPoolMetrics(MetricRegistry registry, HostBalancer balancer)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(balancer);
        _picks = registry.CreateCounter("dataplane_agent_gpu_host_picks_total",
            "GPU requests sent to each host (the balancer's picks).", "host");
        _ejections = registry.CreateCounter("dataplane_agent_gpu_host_ejections_total",
            "Times each host was ejected from the pool, by reason: failures (consecutive), latency (outlier), probe (failed its return probe).",
            "host", "reason");
        var ejected = registry.CreateGauge("dataplane_agent_gpu_host_ejected", "1 while the host is ejected from the pool.", "host");
        var wait = registry.CreateGauge("dataplane_agent_gpu_host_reported_wait_seconds",
            "The queue wait each host last reported (endpoint-load-metrics predicted_wait_ms).", "host");
        var outstanding = registry.CreateGauge("dataplane_agent_gpu_host_outstanding", "This agent's requests in flight on each host.", "host");
        var latency = registry.CreateGauge("dataplane_agent_gpu_host_latency_seconds",
            "The balancer's estimate of each host's time to first token (median of its last 5).", "host");
        var hosts = registry.CreateGauge("dataplane_agent_gpu_hosts", "GPU host addresses in the pool (after DNS resolution).");
        balancer.Picked = h => (h.PickCounter ??= _picks.WithLabels(h.Name)).Inc();
        balancer.HostEjected = (h, reason) => _ejections.WithLabels(h.Name, reason).Inc();
        registry.AddBeforeExport(() =>
        {
            var current = balancer.Hosts;
            hosts.Set(current.Count);
            foreach (var h in current)
            {
                ejected.WithLabels(h.Name).Set(h.IsEjected ? 1 : 0);
                wait.WithLabels(h.Name).Set(h.LastReportedWait);
                outstanding.WithLabels(h.Name).Set(h.Outstanding);
                latency.WithLabels(h.Name).Set(double.IsNaN(h.LatencyEstimate) ? 0 : h.LatencyEstimate);
            }
        });
    }
}
