namespace DataPlane.Bench.Agent;

/// <summary>Latency of one group of a phase's measured requests: every request ("all"), those of one
/// path, or (direct phase) "matched": the requests whose prompt the agent answered on the local path.
/// Latencies and percentiles are over the group's successful requests (nearest rank, exact).</summary>
public sealed record GroupStats(
    string Phase,
    string Name,
    long Requests,
    long Ok,
    long Errors,
    IReadOnlyDictionary<string, long> ErrorsByKind,
    double SharePct,
    double? TtftP50Ms,
    double? TtftP90Ms,
    double? TtftP99Ms,
    double? TotalP50Ms,
    double? TotalP99Ms);

/// <summary>The outcome of one phase (agent or direct).</summary>
public sealed record PhaseSummary(
    string Phase,
    string Target,
    long Requests,
    long Ok,
    long Errors,
    IReadOnlyDictionary<string, long> ErrorsByKind,
    IReadOnlyDictionary<string, string> ErrorSamples,
    double MeasuredSeconds,
    double ThroughputRps,
    long LateSends,
    double MaxSendLagMs,
    IReadOnlyDictionary<string, long> OkByPath,
    IReadOnlyDictionary<string, long> OkByAnsweredBy,
    long Replaced,
    IReadOnlyList<GroupStats> Groups)
{
    /// <summary>Successful requests by their final <c>dataplane.reason</c> (none when absent).</summary>
    public IReadOnlyDictionary<string, long> OkByReason { get; init; } = new SortedDictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Requests answered 429 (the agent's local runtime full and the GPU pool unable to take them).</summary>
    public long Refused429 { get; init; }

    /// <summary>Median <c>Retry-After</c> of the 429 answers, in seconds; null without any.</summary>
    public double? RetryAfterP50Seconds { get; init; }

    /// <summary>Successful requests escalated because the local runtime was full (<c>local_busy</c>) / all measured
    /// requests × 100; null without requests.</summary>
    public double? LocalBusyPct => Requests == 0 ? null : 100.0 * OkByReason.GetValueOrDefault("local_busy") / Requests;

    /// <summary>The group called <paramref name="name"/>, or null.</summary>
    public GroupStats? Group(string name) => Groups.FirstOrDefault(g => g.Name == name);
}

/// <summary>The agent's overhead over the local runtime's own time to first token.</summary>
/// <param name="AgentLocalTtftP50Ms">Agent phase, path local: TTFT p50.</param>
/// <param name="DirectTtftP50Ms">Direct phase, the requests whose prompt (same sequence number) the agent
/// answered on the local path: TTFT p50. The overhead subtracts this one.</param>
/// <param name="DirectAllTtftP50Ms">Direct phase, every successful request: TTFT p50 (for reference).</param>
/// <param name="MatchedRequests">Successful direct requests in the matched set.</param>
/// <param name="OverheadP50Ms">AgentLocalTtftP50Ms − DirectTtftP50Ms; null when either is missing.</param>
/// <param name="PairedP50Ms">p50 over the matched sequence numbers of (agent TTFT − direct TTFT) of the same request.</param>
/// <param name="Met">OverheadP50Ms ≤ <see cref="AgentBenchReport.OverheadTargetMs"/>; null without a value.</param>
public sealed record OverheadSummary(
    double? AgentLocalTtftP50Ms,
    double? DirectTtftP50Ms,
    double? DirectAllTtftP50Ms,
    long MatchedRequests,
    double? OverheadP50Ms,
    double? PairedP50Ms,
    bool? Met);

/// <summary>Routing decision time from the agent's <c>dataplane_agent_decision_seconds</c> histogram,
/// scraped when the measurement started and after it ended (the difference is used).</summary>
/// <param name="Decisions">Observations between the scrapes.</param>
/// <param name="MeanUs">Δsum / Δcount, in microseconds.</param>
/// <param name="P50Us">Bucket-estimated p50 (linear interpolation, as histogram_quantile).</param>
/// <param name="P99Us">Bucket-estimated p99.</param>
/// <param name="Met">MeanUs ≤ <see cref="AgentBenchReport.DecisionMeanTargetUs"/> and P99Us ≤
/// <see cref="AgentBenchReport.DecisionP99TargetUs"/>; null without values.</param>
/// <param name="Error">Why there are no values (scrape failed, histogram absent); null when there are.</param>
public sealed record DecisionSummary(double Decisions, double? MeanUs, double? P50Us, double? P99Us, bool? Met, string? Error);

/// <summary>A whole run.</summary>
public sealed record AgentBenchResult
{
    public required AgentBenchSettings Settings { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }

    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>"built-in" or the prompt file.</summary>
    public required string Prompts { get; init; }

    public required PhaseSummary Agent { get; init; }

    public PhaseSummary? Direct { get; init; }

    /// <summary>Successful agent requests with <c>dataplane.answered_by == "local"</c> / successful agent
    /// requests; null when no successful request carried a <c>dataplane</c> object.</summary>
    public double? LocalHitRate { get; init; }

    /// <summary>Successful agent requests with <c>dataplane.answered_by == "gpu"</c> (path gpu, or path
    /// speculative answered by the GPU) / successful agent requests; null like <see cref="LocalHitRate"/>.</summary>
    public double? EscalationRate { get; init; }

    /// <summary>Null without --direct-url.</summary>
    public OverheadSummary? Overhead { get; init; }

    /// <summary>Null without --metrics-url.</summary>
    public DecisionSummary? Decision { get; init; }

    /// <summary>The agent phase, then the direct phase when there was one.</summary>
    public IEnumerable<PhaseSummary> Phases => Direct is null ? [Agent] : [Agent, Direct];
}

/// <summary>Turns measured requests into the run's figures (definitions on each record).</summary>
public static class AgentBenchReport
{
    /// <summary>Target of the agent's overhead over the runtime's TTFT, p50.</summary>
    public const double OverheadTargetMs = 0.2;

    /// <summary>Target of the routing decision time's mean.</summary>
    public const double DecisionMeanTargetUs = 5;

    /// <summary>Target of the routing decision time's estimated p99.</summary>
    public const double DecisionP99TargetUs = 10;

    /// <summary>The histogram the decision time is read from.</summary>
    public const string DecisionMetric = "dataplane_agent_decision_seconds";

    private static readonly string[] s_pathOrder = ["local", "gpu", "speculative", "degraded", "unknown", "none"];

    /// <summary>Summarises one phase: errors by kind, groups "all" and one per path (in the order
    /// local, gpu, speculative, degraded, unknown, none, then others by name), plus "matched" when
    /// <paramref name="matched"/> (sequence numbers) is given.</summary>
    public static PhaseSummary SummarizePhase(string phase, string target, PhaseResult result, IReadOnlySet<long>? matched = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var samples = result.Samples;
        long ok = samples.Count(s => s.Ok);
        long lastOkEnd = samples.Where(s => s.Ok).Select(s => s.EndNs).DefaultIfEmpty(long.MinValue).Max();
        long durationNs = result.Duration.Ticks * 100;
        long measuredNs = ok > 0 ? Math.Max(durationNs, lastOkEnd - result.WindowStartNs) : durationNs;
        var samplesByError = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            if (s.ErrorKind is { } kind && !samplesByError.ContainsKey(kind))
            {
                samplesByError[kind] = s.ErrorMessage ?? "";
            }
        }

        var groups = new List<GroupStats> { Group(phase, "all", samples, ok) };
        var paths = samples.Select(s => s.Path).Distinct(StringComparer.Ordinal)
            .OrderBy(p => Array.IndexOf(s_pathOrder, p) is int i and >= 0 ? i : s_pathOrder.Length)
            .ThenBy(p => p, StringComparer.Ordinal);
        foreach (string path in paths)
        {
            groups.Add(Group(phase, path, samples.Where(s => s.Path == path).ToList(), ok));
        }

        if (matched is not null)
        {
            groups.Add(Group(phase, "matched", samples.Where(s => matched.Contains(s.Index)).ToList(), ok));
        }

        return new PhaseSummary(
            phase,
            target,
            samples.Count,
            ok,
            samples.Count - ok,
            ErrorsByKind(samples),
            samplesByError,
            measuredNs / 1e9,
            ok / (measuredNs / 1e9),
            result.LateSends,
            result.MaxSendLagNs / 1e6,
            Count(samples.Where(s => s.Ok).Select(s => s.Path)),
            Count(samples.Where(s => s.Ok).Select(s => s.AnsweredBy)),
            samples.Count(s => s.Ok && s.Replaced),
            groups)
        {
            OkByReason = Count(samples.Where(s => s.Ok && s.Reason != null).Select(s => s.Reason!)),
            Refused429 = samples.Count(s => s.Status == 429),
            RetryAfterP50Seconds = samples.Where(s => s.Status == 429 && s.RetryAfterSeconds != null).Select(s => s.RetryAfterSeconds!.Value)
                .Order().ToList() is { Count: > 0 } after ? after[(after.Count - 1) / 2] : null,
        };
    }

    /// <summary>Local hit rate and escalation rate of the agent phase (see <see cref="AgentBenchResult"/>).</summary>
    public static (double? LocalHitRate, double? EscalationRate) Rates(IReadOnlyList<RequestSample> agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var ok = agent.Where(s => s.Ok).ToList();
        if (ok.Count == 0 || ok.All(s => s.AnsweredBy == "unknown"))
        {
            return (null, null);
        }

        return ((double)ok.Count(s => s.AnsweredBy == "local") / ok.Count, (double)ok.Count(s => s.AnsweredBy == "gpu") / ok.Count);
    }

    /// <summary>Sequence numbers the agent answered successfully on the local path.</summary>
    public static HashSet<long> LocalIndices(IReadOnlyList<RequestSample> agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Where(s => s.Ok && s.Path == "local").Select(s => s.Index).ToHashSet();
    }

    /// <summary>The agent's overhead (see <see cref="OverheadSummary"/>).</summary>
    public static OverheadSummary Overhead(IReadOnlyList<RequestSample> agent, IReadOnlyList<RequestSample> direct)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(direct);
        var local = agent.Where(s => s.Ok && s.Path == "local" && s.TimeToFirstTokenNs is not null).ToDictionary(s => s.Index);
        var directOk = direct.Where(s => s.Ok && s.TimeToFirstTokenNs is not null).ToList();
        var matched = directOk.Where(s => local.ContainsKey(s.Index)).ToList();
        double? agentP50 = P50(local.Values.Select(s => s.TimeToFirstTokenNs!.Value));
        double? directP50 = P50(matched.Select(s => s.TimeToFirstTokenNs!.Value));
        double? directAllP50 = P50(directOk.Select(s => s.TimeToFirstTokenNs!.Value));
        double? paired = P50(matched.Select(s => local[s.Index].TimeToFirstTokenNs!.Value - s.TimeToFirstTokenNs!.Value));
        double? overhead = agentP50 is { } a && directP50 is { } d ? a - d : null;
        return new OverheadSummary(agentP50, directP50, directAllP50, matched.Count, overhead, paired,
            overhead is { } o ? o <= OverheadTargetMs : null);
    }

    /// <summary>Decision time from two scrapes of the agent's metrics.</summary>
    public static DecisionSummary Decision(HistogramSnapshot before, HistogramSnapshot after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var delta = after.Minus(before);
        if (delta.Count <= 0)
        {
            return new DecisionSummary(0, null, null, null, null, "no routing decision was observed between the scrapes");
        }

        double? mean = delta.Mean * 1e6;
        double? p50 = delta.Quantile(0.5) * 1e6;
        double? p99 = delta.Quantile(0.99) * 1e6;
        bool? met = mean is { } m && p99 is { } p ? m <= DecisionMeanTargetUs && p <= DecisionP99TargetUs : null;
        return new DecisionSummary(delta.Count, mean, p50, p99, met, null);
    }

    private static GroupStats Group(string phase, string name, IReadOnlyList<RequestSample> samples, long phaseOk)
    {
        var ok = samples.Where(s => s.Ok).ToList();
        long[] ttft = ok.Where(s => s.TimeToFirstTokenNs is not null).Select(s => s.TimeToFirstTokenNs!.Value).Order().ToArray();
        long[] total = ok.Select(s => s.TotalNs).Order().ToArray();
        return new GroupStats(phase, name, samples.Count, ok.Count, samples.Count - ok.Count, ErrorsByKind(samples),
            phaseOk > 0 ? 100.0 * ok.Count / phaseOk : 0,
            Percentiles.Milliseconds(ttft, 50), Percentiles.Milliseconds(ttft, 90), Percentiles.Milliseconds(ttft, 99),
            Percentiles.Milliseconds(total, 50), Percentiles.Milliseconds(total, 99));
    }

    private static SortedDictionary<string, long> ErrorsByKind(IEnumerable<RequestSample> samples)
    {
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            if (s.ErrorKind is { } kind)
            {
                errors[kind] = errors.GetValueOrDefault(kind) + 1;
            }
        }

        return errors;
    }

    private static SortedDictionary<string, long> Count(IEnumerable<string> values)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (string v in values)
        {
            counts[v] = counts.GetValueOrDefault(v) + 1;
        }

        return counts;
    }

    private static double? P50(IEnumerable<long> values)
    {
        long[] sorted = values.Order().ToArray();
        return Percentiles.Milliseconds(sorted, 50);
    }
}
