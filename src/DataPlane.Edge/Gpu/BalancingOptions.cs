namespace DataPlane.Edge.Gpu;

/// <summary>How the agent chooses a GPU host per request (<c>Gpu:Balancing:Policy</c>).</summary>
public enum BalancingPolicy
{
    /// <summary>Each request to the next host in turn; hosts ejected after consecutive failures are skipped.</summary>
    RoundRobin,

    /// <summary>Power of two choices over each host's expected time to first token (reported queue wait plus the
    /// agent's own requests awaiting their first token times its latency estimate), with failure and latency-outlier
    /// ejection.</summary>
    LoadAware,
}

/// <summary>The GPU host balancer's settings (<c>Gpu:Balancing:*</c>). Defaults follow Envoy's outlier detection where
/// it has one (5 consecutive failures, a base ejection time that grows with each ejection, at most half the hosts
/// ejected).</summary>
public sealed record BalancingOptions
{
    /// <summary>Default <see cref="BalancingPolicy.LoadAware"/>.</summary>
    public BalancingPolicy Policy { get; init; } = BalancingPolicy.LoadAware;

    /// <summary>Consecutive failed requests (UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS, DEADLINE_EXCEEDED, or no
    /// connection) after which a host is ejected. Default 5.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>A host whose median time to first token over <see cref="OutlierWindow"/> exceeds this many times the
    /// median of the other hosts' is ejected (load-aware only). Default 3.</summary>
    public double OutlierFactor { get; init; } = 3;

    /// <summary>…and exceeds it by at least this much, so that microsecond differences never eject. Default 50 ms.</summary>
    public TimeSpan OutlierMinGap { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Samples a host (and each host it is compared with) needs within the window. Default 8.</summary>
    public int OutlierMinSamples { get; init; } = 8;

    /// <summary>How far back latency samples count for outlier detection. Default 10 s.</summary>
    public TimeSpan OutlierWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First ejection's length; the n-th ejection lasts n times this, up to <see cref="MaxEjectionTime"/>.
    /// Default 5 s.</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest ejection; a host not ejected for this long starts again from the base time. Default 300 s.</summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Most hosts ejected at once, as a percentage of the hosts known (rounded down); never all of them, so the
    /// last host is never ejected. Default 50.</summary>
    public int MaxEjectedPercent { get; init; } = 50;

    /// <summary>How often hosts are probed (ModelReady with its load report): an ejected host whose time is over, and
    /// (load-aware) a host whose last report is older than this. Default 1 s.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A reported queue wait older than this no longer counts. Default 5 s.</summary>
    public TimeSpan ReportMaxAge { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Without new samples, a host's latency estimate above the pool's best falls linearly to the best within
    /// this time, so a host once slow is tried again. Zero: never. Default 30 s.</summary>
    public TimeSpan LatencyDecay { get; init; } = TimeSpan.FromSeconds(30);
}
