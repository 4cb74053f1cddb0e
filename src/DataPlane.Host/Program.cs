using DataPlane.Host.Cli;

// prometheus-net's adapters for .NET event counters and the System.Runtime meter export running totals as gauges
// and names promtool rejects ("_count" gauges, "_total" non-counters); the process_* metrics and our own stay.
Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions
{
    SuppressEventCounters = true,
    SuppressMeters = true,
});

return await Commands.RunAsync(args).ConfigureAwait(false);
