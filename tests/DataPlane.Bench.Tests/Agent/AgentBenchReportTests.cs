using System.Text;
using System.Text.Json;
using DataPlane.Bench.Agent;
using DataPlane.Edge.Serving;
using DataPlane.Hosting.Metrics;

namespace DataPlane.Bench.Tests.Agent;

public sealed class AgentBenchReportTests
{
    private const long Ms = 1_000_000;

    private static RequestSample Ok(long index, double ttftMs, string path, string answeredBy, double totalMs = 100) =>
        new(index, 0, (long)(totalMs * Ms), 200, null, null, (long)(ttftMs * Ms), path, answeredBy, false, 3, "short");

    private static RequestSample Failed(long index, string kind) =>
        new(index, 0, 5 * Ms, kind == "timeout" ? 0 : int.Parse(kind, System.Globalization.CultureInfo.InvariantCulture), kind, "why " + kind,
            null, "none", "unknown", false, 0, "long");

    [Fact]
    public void Local_hit_and_escalation_rates_count_answered_by_over_successful_requests()
    {
        RequestSample[] samples =
        [
            Ok(0, 300, "local", "local"),
            Ok(1, 300, "degraded", "local"),
            Ok(2, 300, "speculative", "local"),
            Ok(3, 60, "gpu", "gpu"),
            Ok(4, 60, "speculative", "gpu"),
            Ok(5, 60, "local", "unknown"),
            Failed(6, "503"),
            Failed(7, "timeout"),
        ];

        var (hit, escalation) = AgentBenchReport.Rates(samples);

        Assert.Equal(3.0 / 6, hit);
        Assert.Equal(2.0 / 6, escalation);
        Assert.Equal((null, null), AgentBenchReport.Rates([Ok(0, 1, "unknown", "unknown"), Failed(1, "503")]));
        Assert.Equal((null, null), AgentBenchReport.Rates([]));
    }

    [Fact]
    public void Escalations_for_a_full_local_runtime_and_429s_are_counted_per_phase()
    {
        RequestSample[] samples =
        [
            Ok(0, 300, "local", "local") with { Reason = "classifier_confident_local" },
            Ok(1, 60, "gpu", "gpu") with { Reason = "local_busy" },
            Ok(2, 60, "gpu", "gpu") with { Reason = "local_busy" },
            Failed(3, "429") with { RetryAfterSeconds = 3 },
            Failed(4, "429") with { RetryAfterSeconds = 1 },
            Failed(5, "429") with { RetryAfterSeconds = 5 },
            Failed(6, "503"),
            Ok(7, 60, "gpu", "gpu"),
        ];
        var phase = AgentBenchReport.SummarizePhase("agent", "http://x", new PhaseResult(samples, 0, TimeSpan.FromSeconds(1), 0, 0));

        Assert.Equal(new Dictionary<string, long> { ["classifier_confident_local"] = 1, ["local_busy"] = 2 }, phase.OkByReason);
        Assert.Equal(100.0 * 2 / 8, phase.LocalBusyPct!.Value, 9);
        Assert.Equal(3, phase.Refused429);
        Assert.Equal(3, phase.RetryAfterP50Seconds);
        string row = AgentBenchCsv.Rows(new AgentBenchResult
        {
            Settings = new AgentBenchSettings { Target = new Uri("http://x") },
            StartedUtc = DateTimeOffset.UnixEpoch,
            Arguments = [],
            Prompts = "built-in",
            Agent = phase,
        }).First();
        Assert.EndsWith(",25.00,3,3.0", row);
        Assert.EndsWith("local_busy_pct,refused_429,retry_after_p50_s", AgentBenchCsv.Header);
    }

    [Fact]
    public void A_phase_is_summarised_by_path_with_errors_by_status_and_exact_percentiles()
    {
        var samples = new List<RequestSample>();
        for (int i = 0; i < 10; i++)
        {
            samples.Add(Ok(i, 300 + i, "local", "local", totalMs: 4000 + i));
        }

        samples.Add(Ok(10, 50, "gpu", "gpu", totalMs: 700));
        samples.Add(Failed(11, "503"));
        samples.Add(Failed(12, "503"));
        samples.Add(Failed(13, "timeout"));
        var result = new PhaseResult(samples, 0, TimeSpan.FromSeconds(10), 2, 3 * Ms);

        var phase = AgentBenchReport.SummarizePhase("agent", "http://x/v1/chat/completions", result, matched: new HashSet<long> { 0, 1, 11 });

        Assert.Equal((14L, 11L, 3L), (phase.Requests, phase.Ok, phase.Errors));
        Assert.Equal(new Dictionary<string, long> { ["503"] = 2, ["timeout"] = 1 }, phase.ErrorsByKind);
        Assert.Equal("why 503", phase.ErrorSamples["503"]);
        Assert.Equal(["all", "local", "gpu", "none", "matched"], phase.Groups.Select(g => g.Name));
        var local = phase.Group("local")!;
        Assert.Equal(10, local.Ok);
        Assert.Equal(100.0 * 10 / 11, local.SharePct, 9);
        Assert.Equal(304, local.TtftP50Ms);
        Assert.Equal(308, local.TtftP90Ms);
        Assert.Equal(309, local.TtftP99Ms);
        Assert.Equal(4004, local.TotalP50Ms);
        Assert.Equal(4009, local.TotalP99Ms);
        var none = phase.Group("none")!;
        Assert.Equal((3L, 0L, 3L), (none.Requests, none.Ok, none.Errors));
        Assert.Null(none.TtftP50Ms);
        var matched = phase.Group("matched")!;
        Assert.Equal((3L, 2L), (matched.Requests, matched.Ok));
        Assert.Equal(new Dictionary<string, long> { ["local"] = 10, ["gpu"] = 1 }, phase.OkByPath);
        Assert.Equal(11 / 10.0, phase.ThroughputRps, 9);
        Assert.Equal((2L, 3.0), (phase.LateSends, phase.MaxSendLagMs));
    }

    [Fact]
    public void The_overhead_compares_the_agent_s_local_path_with_the_same_prompts_sent_directly()
    {
        RequestSample[] agent =
        [
            Ok(0, 301, "local", "local"),
            Ok(1, 302, "local", "local"),
            Ok(2, 303, "local", "local"),
            Ok(3, 60, "gpu", "gpu"),
            Failed(4, "503"),
        ];
        RequestSample[] direct =
        [
            Ok(0, 300.5, "unknown", "unknown"),
            Ok(1, 300.5, "unknown", "unknown"),
            Ok(2, 301, "unknown", "unknown"),
            Ok(3, 900, "unknown", "unknown"), // a long prompt the agent sent to the GPU: not matched
            Ok(4, 300, "unknown", "unknown"),
        ];

        var o = AgentBenchReport.Overhead(agent, direct);

        Assert.Equal(302, o.AgentLocalTtftP50Ms);
        Assert.Equal(300.5, o.DirectTtftP50Ms);
        Assert.Equal(300.5, o.DirectAllTtftP50Ms);
        Assert.Equal(3, o.MatchedRequests);
        Assert.Equal(1.5, o.OverheadP50Ms!.Value, 9);
        Assert.Equal(1.5, o.PairedP50Ms!.Value, 9);
        Assert.False(o.Met);

        var none = AgentBenchReport.Overhead([Ok(0, 5, "unknown", "unknown")], direct);
        Assert.Null(none.OverheadP50Ms);
        Assert.Null(none.Met);
        Assert.Equal(0, none.MatchedRequests);
    }

    [Fact]
    public async Task The_decision_histogram_is_read_from_the_agent_s_own_metrics_text()
    {
        var registry = new MetricRegistry();
        var metrics = new EdgeMetrics(registry);
        metrics.DecisionTime.Observe(0.000003);
        var before = HistogramScrape.Parse(await ExportAsync(registry), AgentBenchReport.DecisionMetric)!;
        for (int i = 0; i < 98; i++)
        {
            metrics.DecisionTime.Observe(0.000004); // (2.5, 5 us]
        }

        metrics.DecisionTime.Observe(0.000007); // (5, 7.5 us]
        metrics.DecisionTime.Observe(0.000008); // (7.5, 10 us]
        var after = HistogramScrape.Parse(await ExportAsync(registry), AgentBenchReport.DecisionMetric)!;

        var d = AgentBenchReport.Decision(before, after);

        Assert.Equal(100, d.Decisions);
        Assert.Null(d.Error);
        Assert.Equal(((98 * 4.0) + 7 + 8) / 100, d.MeanUs!.Value, 6);
        // Rank 50 of 98 in the bucket (2.5, 5 us]: 2.5 + 2.5 * 50/98.
        Assert.Equal(2.5 + (2.5 * 50 / 98), d.P50Us!.Value, 6);
        // Rank 99 is the 99th observation: the one in (5, 7.5 us], estimated at that bucket's upper bound.
        Assert.Equal(7.5, d.P99Us!.Value, 6);
        // Mean 4.07 us within 5 us, estimated p99 7.5 us within 10 us.
        Assert.True(d.Met);
    }

    [Fact]
    public async Task Decision_time_misses_when_either_the_mean_or_the_p99_is_over_its_target()
    {
        // 98 decisions of 4 us and two of 20 us: mean 4.32 us (within 5) but p99 in (15, 20 us] (over 10).
        var tail = await DecisionOfAsync([.. Enumerable.Repeat(0.000004, 98), 0.00002, 0.00002]);
        Assert.InRange(tail.MeanUs!.Value, 4.3, 4.4);
        Assert.InRange(tail.P99Us!.Value, 15, 20);
        Assert.False(tail.Met);

        // 100 decisions of 4 us and one of 300 us: p99 still in (2.5, 5 us], mean 6.93 us (over 5).
        var mean = await DecisionOfAsync([.. Enumerable.Repeat(0.000004, 100), 0.0003]);
        Assert.InRange(mean.P99Us!.Value, 2.5, 5);
        Assert.InRange(mean.MeanUs!.Value, 6.9, 7.0);
        Assert.False(mean.Met);
    }

    /// <summary>The decision summary of an agent's metrics that observed <paramref name="seconds"/> between two scrapes.</summary>
    private static async Task<DecisionSummary> DecisionOfAsync(double[] seconds)
    {
        var registry = new MetricRegistry();
        var metrics = new EdgeMetrics(registry);
        var before = HistogramScrape.Parse(await ExportAsync(registry), AgentBenchReport.DecisionMetric)!;
        foreach (double s in seconds)
        {
            metrics.DecisionTime.Observe(s);
        }

        return AgentBenchReport.Decision(before, HistogramScrape.Parse(await ExportAsync(registry), AgentBenchReport.DecisionMetric)!);
    }

    [Fact]
    public void Bucket_quantiles_interpolate_like_histogram_quantile_and_stop_at_the_largest_finite_bound()
    {
        var h = new HistogramSnapshot(0, 10, [(0.001, 4), (0.002, 8), (0.004, 9), (double.PositiveInfinity, 10)]);

        Assert.Equal(0.0005, h.Quantile(0.2)!.Value, 12);
        Assert.Equal(0.0015, h.Quantile(0.6)!.Value, 12);
        Assert.Equal(0.004, h.Quantile(0.9)!.Value, 12);
        Assert.Equal(0.004, h.Quantile(0.99)!.Value, 12);
        Assert.Null(new HistogramSnapshot(0, 0, [(0.001, 0), (double.PositiveInfinity, 0)]).Quantile(0.5));
    }

    [Fact]
    public void Scraping_adds_up_label_sets_skips_other_metrics_and_reads_timestamps()
    {
        const string Text = """
            # HELP dataplane_agent_decision_seconds Time to make a routing decision.
            # TYPE dataplane_agent_decision_seconds histogram
            dataplane_agent_decision_seconds_sum{node="a"} 0.001
            dataplane_agent_decision_seconds_count{node="a"} 10
            dataplane_agent_decision_seconds_bucket{node="a",le="5E-06"} 4 1700000000000
            dataplane_agent_decision_seconds_bucket{node="a",le="+Inf"} 10
            dataplane_agent_decision_seconds_sum{node="b"} 0.002
            dataplane_agent_decision_seconds_count{node="b"} 5
            dataplane_agent_decision_seconds_bucket{le="5E-06",node="b"} 5
            dataplane_agent_decision_seconds_bucket{le="+Inf",node="b"} 5
            dataplane_agent_decision_seconds_total_bucket{le="1"} 99
            dataplane_agent_requests_total{path="local",outcome="ok"} 3
            """;

        var h = HistogramScrape.Parse(Text, AgentBenchReport.DecisionMetric)!;

        Assert.Equal(0.003, h.Sum, 12);
        Assert.Equal(15, h.Count);
        Assert.Equal([(0.000005, 9.0), (double.PositiveInfinity, 15.0)], h.Buckets);
        Assert.Null(HistogramScrape.Parse("other_metric 1\n", AgentBenchReport.DecisionMetric));
        Assert.Throws<FormatException>(() => HistogramScrape.Parse("dataplane_agent_decision_seconds_bucket{le=\"1\"} x\n", AgentBenchReport.DecisionMetric));
    }

    [Fact]
    public void No_decisions_between_scrapes_is_reported_as_such()
    {
        var h = new HistogramSnapshot(1, 2, [(0.00001, 2), (double.PositiveInfinity, 2)]);

        var d = AgentBenchReport.Decision(h, h);

        Assert.Equal(0, d.Decisions);
        Assert.NotNull(d.Error);
        Assert.Null(d.Met);
    }

    [Fact]
    public void Csv_and_json_carry_the_run_and_agree_with_each_other()
    {
        RequestSample[] agent = [Ok(0, 301, "local", "local"), Ok(1, 60, "gpu", "gpu"), Failed(2, "503")];
        RequestSample[] direct = [Ok(0, 300, "unknown", "unknown"), Ok(1, 300, "unknown", "unknown"), Ok(2, 300, "unknown", "unknown")];
        var settings = new AgentBenchSettings { Label = "a,b", DirectUrl = new Uri("http://127.0.0.1:1") };
        var (hit, escalation) = AgentBenchReport.Rates(agent);
        var result = new AgentBenchResult
        {
            Settings = settings,
            StartedUtc = DateTimeOffset.UnixEpoch,
            Arguments = ["--label", "a,b"],
            Prompts = "built-in",
            Agent = AgentBenchReport.SummarizePhase("agent", "http://a", new PhaseResult(agent, 0, TimeSpan.FromSeconds(1), 0, 0)),
            Direct = AgentBenchReport.SummarizePhase("direct", "http://d", new PhaseResult(direct, 0, TimeSpan.FromSeconds(1), 0, 0),
                AgentBenchReport.LocalIndices(agent)),
            LocalHitRate = hit,
            EscalationRate = escalation,
            Overhead = AgentBenchReport.Overhead(agent, direct),
            Decision = new DecisionSummary(10, 3.5, 2.5, 9.9, true, null),
        };

        var rows = AgentBenchCsv.Rows(result).ToList();
        Assert.Equal(["agent,all", "agent,local", "agent,gpu", "agent,none", "direct,all", "direct,unknown", "direct,matched"],
            rows.Select(r => string.Join(',', Fields(r)[1], Fields(r)[3])));
        foreach (string row in rows)
        {
            Assert.Equal(AgentBenchCsv.Columns.Count, Fields(row).Count);
        }

        var col = AgentBenchCsv.Columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var agentAll = Fields(rows[0]);
        Assert.Equal("a,b", agentAll[col["label"]]);
        Assert.Equal("0.5000", agentAll[col["local_hit_rate"]]);
        Assert.Equal("0.5000", agentAll[col["escalation_rate"]]);
        Assert.Equal("1.000", agentAll[col["overhead_p50_ms"]]);
        Assert.Equal("3.500", agentAll[col["decision_mean_us"]]);
        Assert.Equal("9.900", agentAll[col["decision_p99_us"]]);
        Assert.Equal("503=1", agentAll[col["error_codes"]]);
        Assert.Equal("301.000", Fields(rows[1])[col["ttft_p50_ms"]]);

        using var json = JsonDocument.Parse(AgentBenchJson.Format(result));
        var root = json.RootElement;
        Assert.Equal(0.5, root.GetProperty("local_hit_rate").GetDouble());
        Assert.Equal(1.0, root.GetProperty("overhead").GetProperty("overhead_p50_ms").GetDouble(), 9);
        // 1 ms over the runtime's own first token misses the 0.2 ms target.
        Assert.False(root.GetProperty("overhead").GetProperty("met").GetBoolean());
        Assert.Equal(0.2, root.GetProperty("overhead").GetProperty("target_ms").GetDouble());
        Assert.Equal(5, root.GetProperty("decision").GetProperty("target_mean_us").GetDouble());
        Assert.Equal(10, root.GetProperty("decision").GetProperty("target_p99_us").GetDouble());
        Assert.Equal(1, root.GetProperty("agent").GetProperty("errors_by_status").GetProperty("503").GetInt64());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("mode").ValueKind);
        Assert.Equal(9.9, root.GetProperty("decision").GetProperty("p99_us").GetDouble());
        Assert.Contains("answered_by", root.GetProperty("rate_definitions").GetProperty("local_hit_rate").GetString(), StringComparison.Ordinal);
        Assert.Equal("open", root.GetProperty("load").GetProperty("kind").GetString());

        var table = string.Join('\n', AgentBenchTable.Lines(result));
        Assert.Contains("local hit rate 50.0%", table, StringComparison.Ordinal);
        Assert.Contains("agent overhead", table, StringComparison.Ordinal);
        Assert.Contains("PASS", table, StringComparison.Ordinal);
    }

    private static Task<string> ExportAsync(MetricRegistry registry) => Task.FromResult(registry.Export());

    /// <summary>Splits one CSV row (RFC 4180 quoting).</summary>
    internal static List<string> Fields(string row)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < row.Length; i++)
        {
            char ch = row[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < row.Length && row[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }
}
