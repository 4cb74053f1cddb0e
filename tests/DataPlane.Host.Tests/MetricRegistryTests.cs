using DataPlane.Hosting.Metrics;
using Xunit;

namespace DataPlane.Host.Tests;

/// <summary>The agent's small Prometheus exporter: text format, labels, histogram buckets, concurrency.</summary>
public sealed class MetricRegistryTests
{
    [Fact]
    public void Counters_and_gauges_are_written_with_help_type_and_labels()
    {
        var registry = new MetricRegistry();
        var requests = registry.CreateCounter("t_requests_total", "Requests.\nSecond line", "path", "outcome");
        var inflight = registry.CreateGauge("t_inflight", "In flight.");
        registry.CreateCounter("t_untouched_total", "Never incremented.");
        requests.WithLabels("local", "ok").Inc();
        requests.WithLabels("local", "ok").Inc(2);
        requests.WithLabels("gpu", "err\"or\\x\n").Inc();
        inflight.Inc(5);
        inflight.Dec(2);

        string text = registry.Export();

        Assert.Contains("# HELP t_requests_total Requests.\\nSecond line\n# TYPE t_requests_total counter\n", text);
        Assert.Contains("t_requests_total{path=\"local\",outcome=\"ok\"} 3\n", text);
        Assert.Contains("t_requests_total{path=\"gpu\",outcome=\"err\\\"or\\\\x\\n\"} 1\n", text);
        Assert.Contains("# TYPE t_inflight gauge\nt_inflight 3\n", text);
        Assert.Contains("\nt_untouched_total 0\n", text);
        Assert.Contains("process_resident_memory_bytes ", text);
        Assert.Contains("process_cpu_seconds_total ", text);
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_with_inf_sum_and_count()
    {
        var registry = new MetricRegistry();
        var h = registry.CreateHistogram("t_seconds", "Latency.", [0.1, 0.01, 1], "hop");
        var child = h.WithLabels("a");
        child.Observe(0.005);
        child.Observe(0.01); // le is inclusive
        child.Observe(0.5);
        child.Observe(7);

        string text = registry.Export();

        Assert.Contains("t_seconds_bucket{hop=\"a\",le=\"0.01\"} 2\n", text);
        Assert.Contains("t_seconds_bucket{hop=\"a\",le=\"0.1\"} 2\n", text);
        Assert.Contains("t_seconds_bucket{hop=\"a\",le=\"1\"} 3\n", text);
        Assert.Contains("t_seconds_bucket{hop=\"a\",le=\"+Inf\"} 4\n", text);
        Assert.Contains("t_seconds_sum{hop=\"a\"} 7.515\n", text);
        Assert.Contains("t_seconds_count{hop=\"a\"} 4\n", text);
        Assert.Equal(4, child.Count);
    }

    [Fact]
    public void Unlabelled_histogram_has_only_le()
    {
        var registry = new MetricRegistry();
        var h = registry.CreateHistogram("t_decision_seconds", "Decision.", [0.00001]);
        h.Observe(0.000003);

        string text = registry.Export();

        Assert.Contains("t_decision_seconds_bucket{le=\"1E-05\"} 1\n", text);
        Assert.Contains("t_decision_seconds_count 1\n", text);
    }

    [Fact]
    public void Concurrent_updates_are_not_lost()
    {
        var registry = new MetricRegistry();
        var c = registry.CreateCounter("t_total", "Total.", "k");
        var h = registry.CreateHistogram("t_h", "H.", [1]);
        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                c.WithLabels("x").Inc();
                h.Observe(0.5);
            }
        });

        string text = registry.Export();

        Assert.Contains("t_total{k=\"x\"} 80000\n", text);
        Assert.Contains("t_h_count 80000\n", text);
        Assert.Contains("t_h_sum 40000\n", text);
    }

    [Fact]
    public void Bad_names_labels_and_label_counts_are_refused()
    {
        var registry = new MetricRegistry();
        Assert.Throws<ArgumentException>(() => registry.CreateCounter("1bad", "x"));
        Assert.Throws<ArgumentException>(() => registry.CreateCounter("bad-name", "x"));
        Assert.Throws<ArgumentException>(() => registry.CreateCounter("ok_total", "x", "bad:label"));
        var c = registry.CreateCounter("ok_total", "x", "a");
        Assert.Throws<ArgumentException>(() => c.WithLabels("1", "2"));
        Assert.Throws<InvalidOperationException>(() => c.Inc());
        Assert.Throws<ArgumentOutOfRangeException>(() => c.WithLabels("1").Inc(-1));
        Assert.Throws<InvalidOperationException>(() => registry.CreateGauge("ok_total", "x", "a"));
        Assert.Same(c, registry.CreateCounter("ok_total", "x", "a"));
    }
}
