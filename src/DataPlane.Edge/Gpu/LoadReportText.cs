using System.Globalization;

namespace DataPlane.Edge.Gpu;

/// <summary>Reads the daemon's per-call load report: the ORCA text form in the <c>endpoint-load-metrics</c> trailer or
/// header, <c>TEXT named_metrics.queue_depth=3, named_metrics.predicted_wait_ms=12.5, …</c>.</summary>
public static class LoadReportText
{
    /// <summary>The trailer / header name.</summary>
    public const string Name = "endpoint-load-metrics";

    /// <summary>The predicted queue wait in seconds, or null when <paramref name="value"/> is not a text report or carries
    /// no valid <c>named_metrics.predicted_wait_ms</c>. Never throws.</summary>
    public static double? PredictedWaitSeconds(string? value)
    {
        if (value == null || !value.StartsWith("TEXT ", StringComparison.Ordinal) || value.Length > 4096)
        {
            return null;
        }

        foreach (var part in value.AsSpan(5).Split(','))
        {
            var entry = value.AsSpan(5)[part].Trim();
            int eq = entry.IndexOf('=');
            if (eq > 0 && entry[..eq].SequenceEqual("named_metrics.predicted_wait_ms")
                && double.TryParse(entry[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double ms)
                && double.IsFinite(ms) && ms >= 0)
            {
                return ms / 1000;
            }
        }

        return null;
    }
}
