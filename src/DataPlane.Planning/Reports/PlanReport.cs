using System.Globalization;
using System.Text;
using System.Text.Json;
using DataPlane.Planning.Capacity;
using DataPlane.Planning.Inputs;

namespace DataPlane.Planning.Reports;

/// <summary>A plan as the table <c>dataplane plan</c> prints and as the JSON of <c>--json</c>.</summary>
public static class PlanReport
{
    private static readonly CompositeFormat s_row = CompositeFormat.Parse(
        "{0,-11} {1,6} {2,-16} {3,9} {4,9} {5,8} {6,8} {7,5} {8,8} {9,5} {10,5} {11,5} {12,5} {13,6} {14,7} {15,8} {16,8} {17,6} {18,10}");

    /// <summary>The plan as JSON (camelCase members; absent members are unknown).</summary>
    public static string Json(CapacityPlan plan) => JsonSerializer.Serialize(plan, PlanningJsonContext.Readable.CapacityPlan);

    /// <summary>The plan as a table: a heading with the figures, one row per scenario and model, totals, notes.</summary>
    public static string Table(CapacityPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Capacity plan: peak {N(plan.PeakRequestsPerSecond, 1)} requests/s, local hit rate {N(plan.LocalHitRate * 100, 1)} %, ")
            .Append(CultureInfo.InvariantCulture, $"headroom {N(plan.Headroom * 100, 0)} % (planned rate = GPU rate × {N(1 + plan.Headroom, 2)}), ")
            .Append(CultureInfo.InvariantCulture, $"{N(plan.WindowMs, 1)} ms batch window reserved per request\n");
        if (plan.Source is { Length: > 0 } source)
        {
            text.Append("Figures: ").Append(source).Append('\n');
        }

        text.Append('\n').Append(Format("scenario", "hit %", "model", "gpu req/s", "plan req/s", "a ms", "b ms/row", "max", "slo ms",
            "now", "thru", "need", "hosts", "batch", "batch99", "p50 ms", "p99 ms", "load %", "p99 need-1").TrimEnd()).Append('\n');
        foreach (var s in plan.Scenarios)
        {
            foreach (var m in s.Models)
            {
                text.Append(Format(s.Name, N(s.LocalHitRate * 100, 1), m.Model, N(m.GpuRequestsPerSecond, 1), N(m.PlannedRequestsPerSecond, 1),
                    N(m.LatencyBaseMs, 2), N(m.LatencyPerRowMs, 3), I(m.MaxBatchRows), N(m.SloMs, 0), m.InstancesNow > 0 ? I(m.InstancesNow) : "-",
                    I(m.ThroughputInstances), I(m.Instances), m.Hosts is { } h ? I(h) : "-", O(m.MeanBatchRows, 1), O(m.P99BatchRows, 0),
                    O(m.PredictedP50Ms, 1), O(m.PredictedP99Ms, 1), m.Load is { } u ? N(u * 100, 0) : "-",
                    m.Instances <= 1 ? "-" : m.FewerInstancesP99Ms is { } f ? N(f, 1) : "overload").TrimEnd()).Append('\n');
            }
        }

        text.Append('\n');
        foreach (var s in plan.Scenarios)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{s.Name,-11} hit rate {N(s.LocalHitRate * 100, 1),5} %: {N(s.GpuRequestsPerSecond, 1)} requests/s reach the GPU pool; {s.Instances} instances")
                .Append(s.Hosts is { } h ? string.Create(CultureInfo.InvariantCulture, $" on {h} hosts") : "").Append('\n');
        }

        text.Append("\nthru: fewest instances whose full batches carry the planned rate; need: fewest whose predicted p99 holds the objective;\n")
            .Append("batch, batch99: mean and p99 rows per batch at that count; load: planned rate over what that count carries with full batches;\n")
            .Append("p50, p99: predicted latency at the planned rate, window included; p99 need-1: the same with one instance fewer.\n");
        foreach (string note in plan.Notes)
        {
            text.Append("Note: ").Append(note).Append('\n');
        }

        return text.ToString();
    }

    private static string Format(params object?[] values) => string.Format(CultureInfo.InvariantCulture, s_row, values);

    private static string N(double v, int digits) => v.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string O(double? v, int digits) => v is { } d ? N(d, digits) : "-";

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
