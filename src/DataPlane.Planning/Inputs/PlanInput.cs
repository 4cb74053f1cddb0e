using System.Text.Json.Serialization;

namespace DataPlane.Planning.Inputs;

/// <summary>The measured figures a plan starts from: what <c>dataplane plan --prometheus</c> reads from a Prometheus
/// server and what <c>--input FILE.json</c> holds (docs/PLANNING.md documents the file). Demand model: at the peak,
/// <see cref="PeakRequestsPerSecond"/> requests reach the agents; a share <see cref="LocalHitRate"/> is answered on
/// the Pis; the rest reach the GPU pool and split over the models by <see cref="ModelFigures.EscalationShare"/>.</summary>
public sealed record PlanInput
{
    /// <summary>Where the figures came from (a Prometheus URL and window, or free text). Informational.</summary>
    public string? Source { get; init; }

    /// <summary>Requests per second at the peak, every answer path together (agents' requests; without agents, the
    /// daemons' own requests).</summary>
    public double PeakRequestsPerSecond { get; init; }

    /// <summary>Share of requests answered locally, 0 to 1 (0 when there are no agents in front of the pool).</summary>
    public double LocalHitRate { get; init; }

    /// <summary>Latency objective for models that carry none of their own, milliseconds; null: none.</summary>
    public double? SloMs { get; init; }

    /// <summary>The GPU models.</summary>
    public IReadOnlyList<ModelFigures> Models { get; init; } = [];

    /// <summary>What the reader of the figures assumed, one sentence each (carried into the plan). Optional.</summary>
    public IReadOnlyList<string>? Notes { get; init; }
}

/// <summary>One model's figures, as the daemons measure and configure it. The members with a default other than
/// zero have setters: the JSON source generator gives an absent init-only member its type's default, not the
/// initializer's.</summary>
public sealed record ModelFigures
{
    /// <summary>The model's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>This model's share of the requests that reach the GPU pool. Shares are normalized over the models;
    /// when every share is 0 (nothing escalated in the window) the models share equally.</summary>
    public double EscalationShare { get; init; }

    /// <summary>The fixed cost of one upstream batch, a in latency = a + b·rows, seconds.</summary>
    public double LatencyBaseSeconds { get; init; }

    /// <summary>The cost per row, b, seconds.</summary>
    public double LatencyPerRowSeconds { get; init; }

    /// <summary>The largest batch in rows (1 for a model that does not batch).</summary>
    public int MaxBatchRows { get; set; } = 1;

    /// <summary>Rows per request (the leading dimension a request carries). Default 1.</summary>
    public int RowsPerRequest { get; set; } = 1;

    /// <summary>Instances in the pool today, all hosts together (0: unknown).</summary>
    public int Instances { get; init; }

    /// <summary>Hosts that serve the model today (0: unknown).</summary>
    public int Hosts { get; init; }

    /// <summary>The model's own latency objective, milliseconds; null: the input's or the command line's.</summary>
    public double? SloMs { get; init; }
}

/// <summary>Source-generated JSON for the planner's input and output (no reflection, NativeAOT-safe). Unknown
/// members in an input file are an error that names them.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(PlanInput))]
[JsonSerializable(typeof(Capacity.CapacityPlan))]
internal sealed partial class PlanningJsonContext : JsonSerializerContext
{
    /// <summary>For writing: names and notes as people read them (no \u escapes for ' or ·); still valid JSON.</summary>
    public static PlanningJsonContext Readable { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
