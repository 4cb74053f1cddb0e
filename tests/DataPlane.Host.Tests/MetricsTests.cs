using System.Text.RegularExpressions;
using DataPlane.Host.Tests.Infrastructure;

namespace DataPlane.Host.Tests;

public partial class MetricsTests
{
    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*""(,[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*"")*\})? [-+0-9.eEInfNa]+$")]
    private static partial Regex SampleLine();

    [Fact]
    public async Task Inference_metrics_follow_prometheus_conventions_and_count_what_happened()
    {
        await using var h = await DaemonHarness.StartAsync();
        var calls = Enumerable.Range(0, 64).Select(i => h.Client.ModelInferAsync(Tensors.Simple(1 + (i % 3), i)).ResponseAsync);
        await Task.WhenAll(calls);
        string text = await h.MetricsTextAsync();

        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('#'))
            {
                Assert.Matches(SampleLine(), line);
            }
        }

        Assert.Contains("dataplane_requests_total{model=\"simple\",outcome=\"ok\"} 64", text);
        Assert.Contains("# TYPE dataplane_request_duration_seconds histogram", text);
        Assert.Contains("dataplane_request_duration_seconds_count{model=\"simple\"} 64", text);
        Assert.Contains("dataplane_queue_duration_seconds_count{model=\"simple\"} 64", text);
        Assert.Contains("# TYPE dataplane_request_stage_seconds histogram", text);
        foreach (string stage in new[] { "decode", "dispatch", "validate", "queue", "upstream", "reply" })
        {
            Assert.Contains($"dataplane_request_stage_seconds_count{{model=\"simple\",stage=\"{stage}\"}} 64", text);
        }

        Assert.Contains("dataplane_batch_size_sum{model=\"simple\"} 127", text); // rows 1, 2, 3, 1, … over 64 requests
        Assert.Matches("dataplane_batch_size_count\\{model=\"simple\"\\} [0-9]+", text);
        Assert.Matches("dataplane_upstream_request_duration_seconds_count\\{model=\"simple\"\\} [1-9]", text);
        Assert.Matches("dataplane_batch_window_seconds_count\\{model=\"simple\"\\} [1-9]", text);
        Assert.Contains("dataplane_inflight_requests{model=\"simple\"} 0", text);
        Assert.Contains("dataplane_queue_depth{model=\"simple\"} 0", text);
        Assert.Contains("dataplane_queue_limit{model=\"simple\"} 1024", text); // the default MaxQueueSize
        // The simulated model costs 5 ms per batch plus the hop: the fitted intercept must have found that.
        var intercept = Regex.Match(text, "dataplane_batcher_upstream_latency_intercept_seconds\\{model=\"simple\"\\} ([0-9.e-]+)");
        Assert.True(intercept.Success);
        Assert.InRange(double.Parse(intercept.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0.004, 0.1);
        // What capacity planning reads: the simulated model's one instance, max_batch_size 32, no SLO configured.
        Assert.Contains("dataplane_batcher_instances{model=\"simple\"} 1", text);
        Assert.Contains("dataplane_batcher_max_batch_rows{model=\"simple\"} 32", text);
        Assert.Contains("dataplane_batcher_slo_seconds{model=\"simple\"} 0", text);
        Assert.Contains("dataplane_upstream_up 1", text);
    }
}
