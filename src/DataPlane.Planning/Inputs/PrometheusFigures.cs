using System.Globalization;
using System.Text.Json;

namespace DataPlane.Planning.Inputs;

/// <summary>Reads the planner's figures from a Prometheus server's HTTP API (<c>GET /api/v1/query</c>, instant queries
/// evaluated now over a window) that scrapes the daemons and the agents. The queries are in
/// <see cref="Queries"/> and docs/PLANNING.md; every figure comes from metrics in docs/METRICS.md.</summary>
public static class PrometheusFigures
{
    /// <summary>The largest query answer read.</summary>
    public const int MaxResponseBytes = 16 << 20;

    /// <summary>The PromQL the figures come from, for a window <paramref name="window"/> and a rate interval
    /// <paramref name="rate"/> (both Prometheus durations such as <c>3600s</c>); the peak of a rate is its largest value
    /// over the window, evaluated every <paramref name="step"/>.</summary>
    public static (string AgentPeak, string AgentLocal, string AgentAll, string DaemonPeak, string Traffic, string Base, string PerRow,
        string Instances, string Hosts, string MaxBatch, string Slo, string Rows, string Answered) Queries(string window, string rate, string step) =>
    (
        $"max_over_time(sum(rate(dataplane_agent_requests_total[{rate}]))[{window}:{step}])",
        $"sum(increase(dataplane_agent_requests_total{{path=\"local\",outcome=\"ok\"}}[{window}]))",
        $"sum(increase(dataplane_agent_requests_total{{outcome=\"ok\"}}[{window}]))",
        $"max_over_time(((sum(rate(dataplane_requests_total[{rate}])) or vector(0)) + (sum(rate(dataplane_stream_requests_total[{rate}])) or vector(0)))[{window}:{step}])",
        $"(sum by (model) (increase(dataplane_requests_total[{window}])) + sum by (model) (increase(dataplane_stream_requests_total[{window}])))"
            + $" or sum by (model) (increase(dataplane_requests_total[{window}])) or sum by (model) (increase(dataplane_stream_requests_total[{window}]))",
        $"avg by (model) (last_over_time(dataplane_batcher_upstream_latency_intercept_seconds[{window}]))",
        $"avg by (model) (last_over_time(dataplane_batcher_upstream_latency_per_row_seconds[{window}]))",
        $"sum by (model) (last_over_time(dataplane_batcher_instances[{window}]))",
        $"count by (model) (last_over_time(dataplane_batcher_instances[{window}]))",
        $"min by (model) (last_over_time(dataplane_batcher_max_batch_rows[{window}]))",
        $"max by (model) (last_over_time(dataplane_batcher_slo_seconds[{window}]))",
        $"sum by (model) (increase(dataplane_batch_size_sum[{window}]))",
        $"sum by (model) (increase(dataplane_requests_total{{outcome=\"ok\"}}[{window}]))"
    );

    /// <summary>Reads the figures of the last <paramref name="window"/> from the Prometheus server at
    /// <paramref name="server"/>, with rates over <paramref name="rateInterval"/>.</summary>
    /// <exception cref="PlanInputException">The server cannot be reached, a query fails, or the daemons' series are missing.</exception>
    public static async Task<PlanInput> ReadAsync(HttpClient http, Uri server, TimeSpan window, TimeSpan rateInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(server);
        string w = Duration(window), r = Duration(rateInterval);
        string step = Duration(TimeSpan.FromSeconds(Math.Max(1, Math.Floor(rateInterval.TotalSeconds / 4))));
        var q = Queries(w, r, step);
        string where = $"prometheus {server.GetLeftPart(UriPartial.Path).TrimEnd('/')}";

        async Task<Dictionary<string, double>> ByModel(string query) => await QueryAsync(http, server, where, query, cancellationToken).ConfigureAwait(false);
        async Task<double?> Scalar(string query) => (await ByModel(query).ConfigureAwait(false)).TryGetValue("", out double v) && double.IsFinite(v) ? v : null;

        var instances = await ByModel(q.Instances).ConfigureAwait(false);
        if (instances.Count == 0)
        {
            throw new PlanInputException($"{where}: no dataplane_batcher_instances series in the last {w}: is it scraping the daemons' admin listeners?");
        }

        var hosts = await ByModel(q.Hosts).ConfigureAwait(false);
        var baseSeconds = await ByModel(q.Base).ConfigureAwait(false);
        var perRow = await ByModel(q.PerRow).ConfigureAwait(false);
        var maxBatch = await ByModel(q.MaxBatch).ConfigureAwait(false);
        var slo = await ByModel(q.Slo).ConfigureAwait(false);
        var traffic = await ByModel(q.Traffic).ConfigureAwait(false);
        var rows = await ByModel(q.Rows).ConfigureAwait(false);
        var answered = await ByModel(q.Answered).ConfigureAwait(false);

        var notes = new List<string>();
        double peak, hit;
        double? agentPeak = await Scalar(q.AgentPeak).ConfigureAwait(false);
        if (agentPeak is { } p)
        {
            peak = p;
            double local = await Scalar(q.AgentLocal).ConfigureAwait(false) ?? 0;
            double all = await Scalar(q.AgentAll).ConfigureAwait(false) ?? 0;
            hit = all > 0 ? Math.Clamp(local / all, 0, 1) : 0;
            if (all <= 0)
            {
                notes.Add("The agents answered nothing in the window: local hit rate taken as 0 %.");
            }
        }
        else
        {
            peak = await Scalar(q.DaemonPeak).ConfigureAwait(false) ?? 0;
            hit = 0;
            notes.Add("No agent metrics (dataplane_agent_requests_total): the daemons' own request rate is the peak and every request reaches the GPU pool (hit rate 0 %).");
        }

        var models = new List<ModelFigures>();
        foreach (var (model, count) in instances.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!baseSeconds.TryGetValue(model, out double a) || !perRow.TryGetValue(model, out double b))
            {
                throw new PlanInputException($"{where}: model '{model}' has no dataplane_batcher_upstream_latency_*_seconds series in the last {w}");
            }

            int max = maxBatch.TryGetValue(model, out double mb) && double.IsFinite(mb) && mb >= 1 ? (int)Math.Min(mb, 1_000_000) : 1;
            int perRequest = rows.TryGetValue(model, out double rowSum) && answered.TryGetValue(model, out double ok) && ok > 0 && double.IsFinite(rowSum)
                ? (int)Math.Clamp(Math.Round(rowSum / ok), 1, max)
                : 1;
            models.Add(new ModelFigures
            {
                Name = model,
                EscalationShare = traffic.TryGetValue(model, out double t) && double.IsFinite(t) && t > 0 ? t : 0,
                LatencyBaseSeconds = Finite(a),
                LatencyPerRowSeconds = Finite(b),
                MaxBatchRows = max,
                RowsPerRequest = perRequest,
                Instances = (int)Math.Clamp(count, 0, int.MaxValue),
                Hosts = hosts.TryGetValue(model, out double h) ? (int)Math.Clamp(h, 0, int.MaxValue) : 0,
                SloMs = slo.TryGetValue(model, out double s) && double.IsFinite(s) && s > 0 ? s * 1000 : null,
            });
        }

        double total = models.Sum(m => m.EscalationShare);
        return new PlanInput
        {
            Source = $"{where}, window {w}, rates over {r}",
            PeakRequestsPerSecond = peak,
            LocalHitRate = hit,
            Models = [.. models.Select(m => m with { EscalationShare = total > 0 ? m.EscalationShare / total : 0 })],
            Notes = notes,
        };
    }

    /// <summary>A Prometheus duration in whole seconds (at least 1 s).</summary>
    public static string Duration(TimeSpan span) => $"{Math.Max(1, (long)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}s";

    /// <summary>Parses a duration as the command line takes it: a number and a unit, <c>ms</c>, <c>s</c>, <c>m</c>,
    /// <c>h</c>, <c>d</c> or <c>w</c> (e.g. <c>30s</c>, <c>1h</c>); null when it is not one.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(text.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
        {
            return null;
        }

        double seconds = text[i..] switch
        {
            "ms" => n / 1000,
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86400,
            "w" => n * 604800,
            _ => double.NaN,
        };
        return double.IsFinite(seconds) && seconds > 0 && seconds <= 366 * 86400.0 ? TimeSpan.FromSeconds(seconds) : null;
    }

    private static double Finite(double v) => double.IsFinite(v) && v > 0 ? v : 0;

    /// <summary>One instant query; the answer's samples by their <c>model</c> label ("" when the sample has none).</summary>
    private static async Task<Dictionary<string, double>> QueryAsync(HttpClient http, Uri server, string where, string query, CancellationToken ct)
    {
        var uri = new Uri(server, $"api/v1/query?query={Uri.EscapeDataString(query)}");
        byte[] body;
        int status;
        try
        {
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            status = (int)response.StatusCode;
            if (response.Content.Headers.ContentLength is > MaxResponseBytes)
            {
                throw new PlanInputException($"{where}: an answer of {response.Content.Headers.ContentLength} bytes, more than {MaxResponseBytes}");
            }

            using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > MaxResponseBytes)
                {
                    throw new PlanInputException($"{where}: an answer longer than {MaxResponseBytes} bytes");
                }

                buffer.Write(chunk, 0, n);
            }

            body = buffer.ToArray();
        }
        catch (HttpRequestException e)
        {
            throw new PlanInputException($"{where}: cannot query it ({e.HttpRequestError}: {e.Message})", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new PlanInputException($"{where}: no answer within {http.Timeout.TotalSeconds:0} s", e);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("status", out var s))
            {
                throw new PlanInputException($"{where}: HTTP {status} without a Prometheus API answer (is the URL the server's root?)");
            }

            if (s.GetString() != "success")
            {
                string error = root.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "";
                throw new PlanInputException($"{where}: query failed ({error}): {query}");
            }

            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            var data = root.GetProperty("data");
            if (data.GetProperty("resultType").GetString() != "vector")
            {
                throw new PlanInputException($"{where}: expected an instant vector from {query}");
            }

            foreach (var sample in data.GetProperty("result").EnumerateArray())
            {
                string model = sample.GetProperty("metric").TryGetProperty("model", out var m) ? m.GetString() ?? "" : "";
                string? text = sample.GetProperty("value")[1].GetString();
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                {
                    result[model] = v;
                }
            }

            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new PlanInputException($"{where}: HTTP {status}, an answer that is not Prometheus's query API JSON", e);
        }
    }
}
