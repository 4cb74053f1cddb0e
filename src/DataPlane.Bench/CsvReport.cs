using System.Globalization;
using System.Text;

namespace DataPlane.Bench;

/// <summary>The CSV form of step results: one header row, then one row per step. Column names are
/// stable (scripts depend on them); new columns are only ever added at the end.
/// <list type="table">
/// <item><term>label</term><description>the run's --label (e.g. the batching policy)</description></item>
/// <item><term>target</term><description>endpoint URL</description></item>
/// <item><term>model</term><description>model name</description></item>
/// <item><term>rpc</term><description>infer or live</description></item>
/// <item><term>mode</term><description>poisson, constant or closed</description></item>
/// <item><term>offered</term><description>offered rate in req/s (open loop) or workers (closed loop)</description></item>
/// <item><term>batch</term><description>rows per request</description></item>
/// <item><term>measured_s</term><description>seconds the throughput is computed over</description></item>
/// <item><term>sent</term><description>measured requests sent</description></item>
/// <item><term>ok</term><description>measured requests that succeeded</description></item>
/// <item><term>errors</term><description>measured requests that failed</description></item>
/// <item><term>error_codes</term><description>failures by gRPC status, e.g. <c>UNAVAILABLE=12;DEADLINE_EXCEEDED=3</c> (empty when none)</description></item>
/// <item><term>throughput_rps</term><description>ok / measured_s</description></item>
/// <item><term>p50_ms, p90_ms, p99_ms, max_ms, mean_ms</term><description>latency of successful requests (empty when none succeeded)</description></item>
/// <item><term>slo_ms</term><description>the latency objective</description></item>
/// <item><term>slo_attainment_pct</term><description>percent of measured requests that succeeded within slo_ms</description></item>
/// <item><term>late_sends</term><description>open-loop sends more than 1 ms behind schedule</description></item>
/// <item><term>max_send_lag_ms</term><description>largest delay of a send behind schedule</description></item>
/// <item><term>error_p50_ms, error_p99_ms</term><description>latency of failed requests: how fast refusals come back (empty when none failed)</description></item>
/// <item><term>server_cpu_us_per_req, server_alloc_bytes_per_req</term><description>with --server-metrics: the server's CPU
/// microseconds and managed-heap bytes per successful request over the step (empty otherwise)</description></item>
/// </list>
/// Numbers use '.' as the decimal separator; fields with commas or quotes are quoted (RFC 4180).</summary>
public static class CsvReport
{
    /// <summary>The column names, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "label", "target", "model", "rpc", "mode", "offered", "batch", "measured_s", "sent", "ok", "errors",
        "error_codes", "throughput_rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "slo_ms",
        "slo_attainment_pct", "late_sends", "max_send_lag_ms", "error_p50_ms", "error_p99_ms",
        "server_cpu_us_per_req", "server_alloc_bytes_per_req",
    ];

    /// <summary>The header row.</summary>
    public static string Header { get; } = string.Join(',', Columns);

    /// <summary>The row of <paramref name="r"/>, without line end.</summary>
    public static string FormatRow(StepResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string[] fields =
        [
            Quote(r.Label), Quote(r.Target), Quote(r.Model), r.Rpc.Name(), r.Mode.Name(), Number(r.Offered),
            Number(r.Batch), Fixed(r.MeasuredSeconds, 3), Number(r.Sent), Number(r.Ok), Number(r.Errors),
            ErrorCodes(r.ErrorsByStatus), Fixed(r.ThroughputRps, 2), Fixed(r.P50Ms, 3), Fixed(r.P90Ms, 3),
            Fixed(r.P99Ms, 3), Fixed(r.MaxMs, 3), Fixed(r.MeanMs, 3), Number(r.SloMs), Fixed(r.SloAttainmentPct, 2),
            Number(r.LateSends), Fixed(r.MaxSendLagMs, 3), Fixed(r.ErrorP50Ms, 3), Fixed(r.ErrorP99Ms, 3),
            Fixed(r.ServerCpuUsPerRequest, 1), Fixed(r.ServerAllocBytesPerRequest, 0),
        ];
        return string.Join(',', fields);
    }

    /// <summary>Failures by status as <c>NAME=count</c> pairs joined by ';'.</summary>
    public static string ErrorCodes(IReadOnlyDictionary<string, long> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return string.Join(';', errors.Select(e => $"{e.Key}={e.Value.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Returns null when rows can be appended to <paramref name="path"/>: it does not exist, is
    /// empty, or starts with this header. Otherwise a message saying why not.</summary>
    public static string? CheckAppendable(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return null;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        string? first = reader.ReadLine();
        return first == Header ? null : $"{path} exists with other columns; name a new file";
    }

    /// <summary>Appends rows to <paramref name="path"/>, writing the header first when the file is new
    /// or empty. Several runs can therefore share one file.</summary>
    public static void Append(string path, IEnumerable<StepResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var writer = new StreamWriter(path, append: true, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (fresh)
        {
            writer.Write(Header);
            writer.Write('\n');
        }

        foreach (var r in results)
        {
            writer.Write(FormatRow(r));
            writer.Write('\n');
        }
    }

    private static string Number(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Number(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Fixed(double? v, int decimals) =>
        v is { } d ? d.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
