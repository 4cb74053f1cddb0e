using System.Globalization;
using System.Text;

namespace DataPlane.Bench;

/// <summary>The human-readable table printed while a run goes: a header, then one row per step as it
/// finishes. Latencies in ms, "-" where no request succeeded; the server's CPU µs and allocated bytes per request
/// (<c>--server-metrics</c>), "-" without it.</summary>
public static class TableReport
{
    private static readonly CompositeFormat s_columns =
        CompositeFormat.Parse("{0,-8} {1,9} {2,10} {3,8} {4,7} {5,9} {6,9} {7,9} {8,9} {9,7} {10,6} {11,7} {12,8}  {13}");

    /// <summary>The header line; <paramref name="labelWidth"/> is the width of the label column.</summary>
    public static string Header(int labelWidth) => "label".PadRight(labelWidth) + " " + string.Format(CultureInfo.InvariantCulture, s_columns,
        "mode", "offered", "thru/s", "ok", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "slo %", "late", "cpu us", "alloc B", "by status");

    /// <summary>The row of <paramref name="r"/>.</summary>
    public static string Row(StepResult r, int labelWidth)
    {
        ArgumentNullException.ThrowIfNull(r);
        string label = r.Label.Length == 0 ? "-" : r.Label;
        return (label.PadRight(labelWidth) + " " + string.Format(CultureInfo.InvariantCulture, s_columns,
            r.Mode.Name(),
            r.Offered.ToString(CultureInfo.InvariantCulture),
            r.ThroughputRps.ToString("F1", CultureInfo.InvariantCulture),
            r.Ok, r.Errors,
            Ms(r.P50Ms), Ms(r.P90Ms), Ms(r.P99Ms), Ms(r.MaxMs),
            r.SloAttainmentPct.ToString("F1", CultureInfo.InvariantCulture),
            r.LateSends,
            r.ServerCpuUsPerRequest is { } cpu ? cpu.ToString("F1", CultureInfo.InvariantCulture) : "-",
            r.ServerAllocBytesPerRequest is { } alloc ? alloc.ToString("F0", CultureInfo.InvariantCulture) : "-",
            CsvReport.ErrorCodes(r.ErrorsByStatus) + (r.ErrorP50Ms is { } e ? $" (p50 {Ms(e)} ms, p99 {Ms(r.ErrorP99Ms)} ms)" : ""))).TrimEnd();
    }

    /// <summary>Width of the label column for <paramref name="label"/>.</summary>
    public static int LabelWidth(string label) => Math.Max(5, label.Length);

    private static string Ms(double? v) => v is { } d ? d.ToString("F3", CultureInfo.InvariantCulture) : "-";
}
