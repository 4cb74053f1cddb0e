namespace DataPlane.Planning.Capacity;

/// <summary>The choices a plan is made with (the command line's switches); defaults are the command line's.</summary>
public sealed record PlanSettings
{
    /// <summary>Capacity is planned for the peak × (1 + headroom). Default 0.3 (30 %).</summary>
    public double Headroom { get; init; } = 0.3;

    /// <summary>Latency objective for every model, milliseconds; null: each model's own, then the input's.</summary>
    public double? SloMs { get; init; }

    /// <summary>Instances one host runs; null: as measured (instances ÷ hosts per model), when known.</summary>
    public int? InstancesPerHost { get; init; }

    /// <summary>Time reserved in every request's latency for the batch-forming window, milliseconds. Default 5, the
    /// adaptive policy's default <c>MaxWindow</c> (the fixed policy's <c>MaxQueueDelay</c> is also 5 ms).</summary>
    public double WindowMs { get; init; } = 5;

    /// <summary>Peak request rate to plan for instead of the measured one; null: the measured one.</summary>
    public double? PeakRequestsPerSecond { get; init; }

    /// <summary>Local hit rate to plan for instead of the measured one (0 to 1); null: the measured one.</summary>
    public double? LocalHitRate { get; init; }

    /// <summary>How far the hit rate is moved for the sensitivity rows, as a share. Default 0.10 (10 points).</summary>
    public double HitRateStep { get; init; } = 0.10;
}
