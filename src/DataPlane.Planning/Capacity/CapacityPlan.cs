namespace DataPlane.Planning.Capacity;

/// <summary>A capacity plan: the figures it started from and one scenario per local hit rate (the measured one first,
/// then the measured one moved down and up by <see cref="PlanSettings.HitRateStep"/>).</summary>
public sealed record CapacityPlan
{
    /// <summary>Where the figures came from.</summary>
    public string? Source { get; init; }

    /// <summary>Peak requests per second planned for (before headroom).</summary>
    public required double PeakRequestsPerSecond { get; init; }

    /// <summary>The local hit rate of the first scenario.</summary>
    public required double LocalHitRate { get; init; }

    /// <summary>Headroom over the peak, as a share.</summary>
    public required double Headroom { get; init; }

    /// <summary>The batch-forming window added to every predicted latency, ms.</summary>
    public required double WindowMs { get; init; }

    /// <summary>The measured scenario, then the hit-rate variations.</summary>
    public required IReadOnlyList<PlanScenario> Scenarios { get; init; }

    /// <summary>Assumptions that apply to these figures, one sentence each.</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary>The pool needed at one local hit rate.</summary>
public sealed record PlanScenario
{
    /// <summary>"measured", or how far the hit rate was moved ("-10 points", "+10 points").</summary>
    public required string Name { get; init; }

    /// <summary>The local hit rate of this scenario, 0 to 1.</summary>
    public required double LocalHitRate { get; init; }

    /// <summary>Requests per second reaching the GPU pool at the peak (before headroom).</summary>
    public required double GpuRequestsPerSecond { get; init; }

    /// <summary>Instances needed, every model together.</summary>
    public required int Instances { get; init; }

    /// <summary>Hosts needed, every model together, counting each model's hosts separately; null when a model's
    /// instances per host are unknown.</summary>
    public int? Hosts { get; init; }

    /// <summary>One row per model.</summary>
    public required IReadOnlyList<ModelPlan> Models { get; init; }
}

/// <summary>One model's share of a scenario and what it needs to hold its latency objective.</summary>
public sealed record ModelPlan
{
    /// <summary>The model.</summary>
    public required string Model { get; init; }

    /// <summary>Requests per second reaching this model at the peak.</summary>
    public required double GpuRequestsPerSecond { get; init; }

    /// <summary>The rate capacity is planned for: the peak × (1 + headroom).</summary>
    public required double PlannedRequestsPerSecond { get; init; }

    /// <summary>Rows per request.</summary>
    public required int RowsPerRequest { get; init; }

    /// <summary>a, ms.</summary>
    public required double LatencyBaseMs { get; init; }

    /// <summary>b, ms per row.</summary>
    public required double LatencyPerRowMs { get; init; }

    /// <summary>The largest batch, rows.</summary>
    public required int MaxBatchRows { get; init; }

    /// <summary>The latency objective held, ms.</summary>
    public required double SloMs { get; init; }

    /// <summary>Instances in the pool today (0: unknown).</summary>
    public required int InstancesNow { get; init; }

    /// <summary>Instances per host the host count is computed with; null: unknown.</summary>
    public int? InstancesPerHost { get; init; }

    /// <summary>The fewest instances whose full batches carry the planned rate at all: ⌊rate ÷ (B/(a + b·B))⌋ + 1
    /// with B the largest batch (0 without traffic).</summary>
    public required int ThroughputInstances { get; init; }

    /// <summary>The fewest instances whose predicted p99 latency (plus the window) holds the objective at the planned
    /// rate (0 without traffic).</summary>
    public required int Instances { get; init; }

    /// <summary>Hosts for <see cref="Instances"/>; null when instances per host are unknown.</summary>
    public int? Hosts { get; init; }

    /// <summary>Mean rows per batch at the planned rate with <see cref="Instances"/> instances.</summary>
    public double? MeanBatchRows { get; init; }

    /// <summary>99th percentile of rows per batch.</summary>
    public double? P99BatchRows { get; init; }

    /// <summary>Predicted median latency (queue, batch and window), ms.</summary>
    public double? PredictedP50Ms { get; init; }

    /// <summary>Predicted 99th percentile latency, ms.</summary>
    public double? PredictedP99Ms { get; init; }

    /// <summary>The planned rate over what the instances carry with full batches, 0 to 1 (the instances themselves are
    /// busy more of the time than this: under load they run the smaller batches that have formed).</summary>
    public double? Load { get; init; }

    /// <summary>Predicted p99 with one instance fewer, ms; null when that pool could not carry the rate at all (or
    /// there is no fewer).</summary>
    public double? FewerInstancesP99Ms { get; init; }
}
