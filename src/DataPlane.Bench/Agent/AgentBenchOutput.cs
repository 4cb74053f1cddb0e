using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DataPlane.Bench.Agent;

/// <summary>The human-readable report printed at the end of a run: one row per phase and group, then
/// the rates, the overhead and the decision time.</summary>
public static class AgentBenchTable
{
    private static readonly CompositeFormat s_columns =
        CompositeFormat.Parse("{0,-6} {1,-12} {2,8} {3,8} {4,7} {5,8} {6,10} {7,10} {8,10} {9,10} {10,10}  {11}");

    /// <summary>The report's lines.</summary>
    public static IEnumerable<string> Lines(AgentBenchResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var c = CultureInfo.InvariantCulture;
        yield return string.Format(c, s_columns, "phase", "path", "requests", "ok", "errors", "share %", "ttft p50", "ttft p90", "ttft p99",
            "total p50", "total p99", "errors by status").TrimEnd();
        foreach (var phase in r.Phases)
        {
            foreach (var g in phase.Groups)
            {
                yield return string.Format(c, s_columns, g.Phase, g.Name, g.Requests, g.Ok, g.Errors, g.SharePct.ToString("F1", c),
                    Ms(g.TtftP50Ms), Ms(g.TtftP90Ms), Ms(g.TtftP99Ms), Ms(g.TotalP50Ms), Ms(g.TotalP99Ms), AgentBenchCsv.ErrorCodes(g.ErrorsByKind)).TrimEnd();
            }
        }

        yield return "(latencies in ms from the scheduled send, over successful requests; ttft: first content token)";
        foreach (var phase in r.Phases)
        {
            yield return $"{phase.Phase}: {phase.ThroughputRps.ToString("F2", c)} ok/s over {phase.MeasuredSeconds.ToString("F1", c)} s" +
                (phase.LateSends > 0 ? $", {phase.LateSends} sends more than 1 ms late (max {phase.MaxSendLagMs.ToString("F3", c)} ms)" : "");
            foreach (var (kind, message) in phase.ErrorSamples)
            {
                yield return $"{phase.Phase}: first '{kind}' error: {message}";
            }
        }

        long ok = r.Agent.Ok;
        yield return r.LocalHitRate is { } hit
            ? $"local hit rate {Pct(hit)} ({r.Agent.OkByAnsweredBy.GetValueOrDefault("local")} of {ok} successful requests answered_by local); " +
              $"escalation rate {Pct(r.EscalationRate)} ({r.Agent.OkByAnsweredBy.GetValueOrDefault("gpu")} answered_by gpu)"
            : "local hit rate n/a, escalation rate n/a (no successful answer carried a dataplane object)";
        if (r.Agent.OkByReason.GetValueOrDefault("local_busy") > 0 || r.Agent.Refused429 > 0)
        {
            yield return $"local runtime full: {r.Agent.OkByReason.GetValueOrDefault("local_busy")} escalated as local_busy " +
                $"({(r.Agent.LocalBusyPct ?? 0).ToString("F1", c)}% of {r.Agent.Requests} requests), {r.Agent.Refused429} refused 429" +
                (r.Agent.RetryAfterP50Seconds is { } after ? $" (Retry-After p50 {after.ToString("F0", c)} s)" : "");
        }
        if (r.Overhead is { } o)
        {
            yield return $"agent overhead: agent local-path TTFT p50 {Ms(o.AgentLocalTtftP50Ms)} ms - direct TTFT p50 {Ms(o.DirectTtftP50Ms)} ms " +
                $"(same {o.MatchedRequests} prompts) = {Ms(o.OverheadP50Ms)} ms; paired p50 {Ms(o.PairedP50Ms)} ms; " +
                $"target <= {AgentBenchReport.OverheadTargetMs.ToString(c)} ms: {Verdict(o.Met)}";
        }

        if (r.Decision is { } d)
        {
            yield return d.Error is { } e
                ? $"decision time: n/a ({e})"
                : $"decision time: mean {Us(d.MeanUs)} us, p50 ~{Us(d.P50Us)} us, p99 ~{Us(d.P99Us)} us (bucket estimates) over " +
                  $"{d.Decisions.ToString(c)} decisions; target mean <= {AgentBenchReport.DecisionMeanTargetUs.ToString(c)} us, " +
                  $"p99 <= {AgentBenchReport.DecisionP99TargetUs.ToString(c)} us: {Verdict(d.Met)}";
        }
    }

    private static string Verdict(bool? met) => met switch { true => "PASS", false => "MISS", null => "n/a" };

    private static string Ms(double? v) => v is { } d ? d.ToString("F3", CultureInfo.InvariantCulture) : "-";

    private static string Us(double? v) => v is { } d ? d.ToString("F2", CultureInfo.InvariantCulture) : "-";

    private static string Pct(double? v) => v is { } d ? (100 * d).ToString("F1", CultureInfo.InvariantCulture) + "%" : "n/a";
}

/// <summary>The CSV form of a run: one row per phase and group (the rows of the table). Run-wide
/// figures (rates, overhead, decision time, settings) repeat on every row, so one row answers a
/// question on its own. Column names are stable; new columns are only added at the end.
/// <list type="table">
/// <item><term>label</term><description>--label</description></item>
/// <item><term>phase</term><description>agent, or direct (the local runtime measured directly)</description></item>
/// <item><term>target</term><description>the URL posted to</description></item>
/// <item><term>path</term><description>all; a path (local, gpu, speculative, degraded, unknown: answered without a
/// dataplane object, none: failed before a path was known); matched (direct phase: the prompts the agent answered locally)</description></item>
/// <item><term>requests, ok, errors</term><description>measured requests of the group</description></item>
/// <item><term>error_codes</term><description>failures by kind, e.g. <c>503=2;timeout=1</c></description></item>
/// <item><term>share_pct</term><description>the group's successful requests / the phase's successful requests × 100</description></item>
/// <item><term>ttft_p50_ms, ttft_p90_ms, ttft_p99_ms</term><description>time to first content token (nearest rank)</description></item>
/// <item><term>total_p50_ms, total_p99_ms</term><description>time to the end of the answer</description></item>
/// <item><term>throughput_rps</term><description>the phase's successful requests per measured second</description></item>
/// <item><term>local_hit_rate, escalation_rate</term><description>fractions (0..1) of the agent phase, empty when unknown</description></item>
/// <item><term>overhead_p50_ms, overhead_paired_p50_ms</term><description>see <see cref="OverheadSummary"/></description></item>
/// <item><term>decision_mean_us, decision_p50_us, decision_p99_us, decisions</term><description>see <see cref="DecisionSummary"/></description></item>
/// <item><term>load, offered, duration_s, warmup_s, max_tokens, stream, mode, prompts, seed, late_sends</term><description>the run's settings
/// (load: open or closed; offered: req/s or workers; mode: the X-DataPlane-Mode sent, empty for none)</description></item>
/// <item><term>local_busy_pct</term><description>the phase's successful requests escalated because the local runtime was
/// full (reason <c>local_busy</c>) / its measured requests × 100</description></item>
/// <item><term>refused_429, retry_after_p50_s</term><description>the phase's requests answered 429 (local runtime full, GPU
/// pool unable to take them) and their median Retry-After</description></item>
/// </list>
/// Numbers use '.'; empty means not available; fields with commas or quotes are quoted (RFC 4180).</summary>
public static class AgentBenchCsv
{
    /// <summary>The column names, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "label", "phase", "target", "path", "requests", "ok", "errors", "error_codes", "share_pct",
        "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "total_p50_ms", "total_p99_ms", "throughput_rps",
        "local_hit_rate", "escalation_rate", "overhead_p50_ms", "overhead_paired_p50_ms",
        "decision_mean_us", "decision_p50_us", "decision_p99_us", "decisions",
        "load", "offered", "duration_s", "warmup_s", "max_tokens", "stream", "mode", "prompts", "seed", "late_sends",
        "local_busy_pct", "refused_429", "retry_after_p50_s",
    ];

    /// <summary>The header row.</summary>
    public static string Header { get; } = string.Join(',', Columns);

    /// <summary>The rows of <paramref name="r"/>, without line ends.</summary>
    public static IEnumerable<string> Rows(AgentBenchResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = r.Settings;
        foreach (var phase in r.Phases)
        {
            foreach (var g in phase.Groups)
            {
                string[] fields =
                [
                    Quote(s.Label), phase.Phase, Quote(phase.Target), Quote(g.Name), Number(g.Requests), Number(g.Ok), Number(g.Errors),
                    Quote(ErrorCodes(g.ErrorsByKind)), Fixed(g.SharePct, 2),
                    Fixed(g.TtftP50Ms, 3), Fixed(g.TtftP90Ms, 3), Fixed(g.TtftP99Ms, 3), Fixed(g.TotalP50Ms, 3), Fixed(g.TotalP99Ms, 3),
                    Fixed(phase.ThroughputRps, 3),
                    Fixed(r.LocalHitRate, 4), Fixed(r.EscalationRate, 4),
                    Fixed(r.Overhead?.OverheadP50Ms, 3), Fixed(r.Overhead?.PairedP50Ms, 3),
                    Fixed(r.Decision?.MeanUs, 3), Fixed(r.Decision?.P50Us, 3), Fixed(r.Decision?.P99Us, 3),
                    r.Decision is { } d ? Number(d.Decisions) : "",
                    s.OpenLoop ? "open" : "closed", s.OpenLoop ? Number(s.Rate) : Number(s.Concurrency),
                    Number(s.Duration.TotalSeconds), Number(s.Warmup.TotalSeconds), Number(s.MaxTokens), s.Stream ? "true" : "false",
                    s.Mode ?? "", Quote(r.Prompts), Number(s.Seed), Number(phase.LateSends),
                    Fixed(phase.LocalBusyPct, 2), Number(phase.Refused429), Fixed(phase.RetryAfterP50Seconds, 1),
                ];
                yield return string.Join(',', fields);
            }
        }
    }

    /// <summary>Failures by kind as <c>KIND=count</c> pairs joined by ';'.</summary>
    public static string ErrorCodes(IReadOnlyDictionary<string, long> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return string.Join(';', errors.Select(e => $"{e.Key}={e.Value.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Null when rows can be appended to <paramref name="path"/> (absent, empty, or starting with
    /// this header); otherwise why not.</summary>
    public static string? CheckAppendable(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return null;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        return reader.ReadLine() == Header ? null : $"{path} exists with other columns; name a new file";
    }

    /// <summary>Appends the rows of <paramref name="r"/>, writing the header first when the file is new or empty.</summary>
    public static void Append(string path, AgentBenchResult r)
    {
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var writer = new StreamWriter(path, append: true, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (fresh)
        {
            writer.Write(Header);
            writer.Write('\n');
        }

        foreach (string row in Rows(r))
        {
            writer.Write(row);
            writer.Write('\n');
        }
    }

    private static string Number(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Number(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Fixed(double? v, int decimals) =>
        v is { } d && double.IsFinite(d) ? d.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>The JSON form of a run: one object per run, appended to the file as one line (JSON Lines).
/// Written with <see cref="Utf8JsonWriter"/>; numbers are plain JSON numbers, unavailable figures null.
/// Fields: <c>label, started_utc, arguments, target, direct_url, metrics_url, model, prompts, short_share,
/// load ({kind: open|closed, rate | concurrency}), duration_s, warmup_s, max_tokens, stream, mode, slo_ms,
/// seed, timeout_ms, local_hit_rate, escalation_rate, rate_definitions, agent, direct</c> (phases:
/// <c>phase, target, requests, ok, errors, errors_by_status, error_samples, measured_s, throughput_rps,
/// late_sends, max_send_lag_ms, ok_by_path, ok_by_answered_by, replaced, groups</c> [one per path:
/// <c>name, requests, ok, errors, errors_by_status, share_pct, ttft_p50_ms, ttft_p90_ms, ttft_p99_ms,
/// total_p50_ms, total_p99_ms</c>]), <c>overhead</c> (<c>agent_local_ttft_p50_ms, direct_ttft_p50_ms,
/// direct_all_ttft_p50_ms, matched_requests, overhead_p50_ms, paired_p50_ms, target_ms, met</c>) and
/// <c>decision</c> (<c>decisions, mean_us, p50_us, p99_us, target_mean_us, target_p99_us, met, error</c>).</summary>
public static class AgentBenchJson
{
    /// <summary>The run as one line of JSON (no line end).</summary>
    public static string Format(AgentBenchResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = r.Settings;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("label", s.Label);
            json.WriteString("started_utc", r.StartedUtc.ToString("O", CultureInfo.InvariantCulture));
            json.WriteStartArray("arguments");
            foreach (string a in r.Arguments)
            {
                json.WriteStringValue(a);
            }

            json.WriteEndArray();
            json.WriteString("target", s.TargetCompletions.ToString());
            OptionalString(json, "direct_url", s.DirectCompletions?.ToString());
            OptionalString(json, "metrics_url", s.MetricsUrl is { } m ? AgentBenchSettings.MetricsEndpoint(m).ToString() : null);
            json.WriteString("model", s.Model);
            json.WriteString("prompts", r.Prompts);
            OptionalNumber(json, "short_share", s.PromptsPath is null ? s.ShortShare : null);
            json.WriteStartObject("load");
            json.WriteString("kind", s.OpenLoop ? "open" : "closed");
            if (s.OpenLoop)
            {
                json.WriteNumber("rate", s.Rate);
            }
            else
            {
                json.WriteNumber("concurrency", s.Concurrency);
            }

            json.WriteEndObject();
            json.WriteNumber("duration_s", s.Duration.TotalSeconds);
            json.WriteNumber("warmup_s", s.Warmup.TotalSeconds);
            json.WriteNumber("max_tokens", s.MaxTokens);
            json.WriteBoolean("stream", s.Stream);
            OptionalString(json, "mode", s.Mode);
            OptionalNumber(json, "slo_ms", s.SloMs);
            json.WriteNumber("seed", s.Seed);
            json.WriteNumber("timeout_ms", s.Timeout.TotalMilliseconds);
            OptionalNumber(json, "local_hit_rate", r.LocalHitRate);
            OptionalNumber(json, "escalation_rate", r.EscalationRate);
            json.WriteStartObject("rate_definitions");
            json.WriteString("local_hit_rate", "successful agent requests whose final dataplane.answered_by is \"local\" / successful agent requests");
            json.WriteString("escalation_rate",
                "successful agent requests whose final dataplane.answered_by is \"gpu\" (path gpu, or path speculative answered by the GPU) / successful agent requests");
            json.WriteEndObject();
            json.WritePropertyName("agent");
            Phase(json, r.Agent);
            json.WritePropertyName("direct");
            if (r.Direct is { } direct)
            {
                Phase(json, direct);
            }
            else
            {
                json.WriteNullValue();
            }

            json.WritePropertyName("overhead");
            if (r.Overhead is { } o)
            {
                json.WriteStartObject();
                OptionalNumber(json, "agent_local_ttft_p50_ms", o.AgentLocalTtftP50Ms);
                OptionalNumber(json, "direct_ttft_p50_ms", o.DirectTtftP50Ms);
                OptionalNumber(json, "direct_all_ttft_p50_ms", o.DirectAllTtftP50Ms);
                json.WriteNumber("matched_requests", o.MatchedRequests);
                OptionalNumber(json, "overhead_p50_ms", o.OverheadP50Ms);
                OptionalNumber(json, "paired_p50_ms", o.PairedP50Ms);
                json.WriteNumber("target_ms", AgentBenchReport.OverheadTargetMs);
                OptionalBool(json, "met", o.Met);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNullValue();
            }

            json.WritePropertyName("decision");
            if (r.Decision is { } d)
            {
                json.WriteStartObject();
                json.WriteNumber("decisions", d.Decisions);
                OptionalNumber(json, "mean_us", d.MeanUs);
                OptionalNumber(json, "p50_us", d.P50Us);
                OptionalNumber(json, "p99_us", d.P99Us);
                json.WriteNumber("target_mean_us", AgentBenchReport.DecisionMeanTargetUs);
                json.WriteNumber("target_p99_us", AgentBenchReport.DecisionP99TargetUs);
                OptionalBool(json, "met", d.Met);
                OptionalString(json, "error", d.Error);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNullValue();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Appends the run to <paramref name="path"/> as one line.</summary>
    public static void Append(string path, AgentBenchResult r) =>
        File.AppendAllText(path, Format(r) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    private static void Phase(Utf8JsonWriter json, PhaseSummary p)
    {
        json.WriteStartObject();
        json.WriteString("phase", p.Phase);
        json.WriteString("target", p.Target);
        json.WriteNumber("requests", p.Requests);
        json.WriteNumber("ok", p.Ok);
        json.WriteNumber("errors", p.Errors);
        Counts(json, "errors_by_status", p.ErrorsByKind);
        json.WriteStartObject("error_samples");
        foreach (var (kind, message) in p.ErrorSamples)
        {
            json.WriteString(kind, message);
        }

        json.WriteEndObject();
        json.WriteNumber("measured_s", p.MeasuredSeconds);
        json.WriteNumber("throughput_rps", p.ThroughputRps);
        json.WriteNumber("late_sends", p.LateSends);
        json.WriteNumber("max_send_lag_ms", p.MaxSendLagMs);
        Counts(json, "ok_by_path", p.OkByPath);
        Counts(json, "ok_by_answered_by", p.OkByAnsweredBy);
        Counts(json, "ok_by_reason", p.OkByReason);
        json.WriteNumber("refused_429", p.Refused429);
        if (p.RetryAfterP50Seconds is { } retry)
        {
            json.WriteNumber("retry_after_p50_s", retry);
        }

        json.WriteNumber("replaced", p.Replaced);
        json.WriteStartArray("groups");
        foreach (var g in p.Groups)
        {
            json.WriteStartObject();
            json.WriteString("name", g.Name);
            json.WriteNumber("requests", g.Requests);
            json.WriteNumber("ok", g.Ok);
            json.WriteNumber("errors", g.Errors);
            Counts(json, "errors_by_status", g.ErrorsByKind);
            json.WriteNumber("share_pct", g.SharePct);
            OptionalNumber(json, "ttft_p50_ms", g.TtftP50Ms);
            OptionalNumber(json, "ttft_p90_ms", g.TtftP90Ms);
            OptionalNumber(json, "ttft_p99_ms", g.TtftP99Ms);
            OptionalNumber(json, "total_p50_ms", g.TotalP50Ms);
            OptionalNumber(json, "total_p99_ms", g.TotalP99Ms);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Counts(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, long> counts)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in counts)
        {
            json.WriteNumber(key, value);
        }

        json.WriteEndObject();
    }

    private static void OptionalString(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void OptionalNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void OptionalBool(Utf8JsonWriter json, string name, bool? value)
    {
        if (value is { } v)
        {
            json.WriteBoolean(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
