namespace DataPlane.Edge.Routing;

/// <summary>A sliding window of recent latencies (GPU time-to-first-token): the last
/// <see cref="Capacity"/> samples (default 200), of which only those younger than <see cref="MaxAge"/>
/// (default 60 s; <see cref="Timeout.InfiniteTimeSpan"/> for no age limit) count. Percentiles are
/// nearest-rank (see <see cref="Calibration"/>) over the counted samples. Thread-safe (one lock);
/// <see cref="Record"/> is O(1) and allocation-free, <see cref="Percentile(double)"/> sorts a preallocated copy,
/// O(n log n) for n ≤ <see cref="Capacity"/>.</summary>
public sealed class LatencyTracker
{
    /// <summary>Default number of samples kept.</summary>
    public const int DefaultCapacity = 200;

    /// <summary>Default age after which a sample no longer counts.</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double[] _milliseconds;
    private readonly long[] _timestamps;
    private readonly double[] _scratch;
    private int _next;
    private int _count;

    /// <summary>Keeps the last <paramref name="capacity"/> samples younger than <paramref name="maxAge"/>.</summary>
    /// <param name="capacity">Samples kept; at least 1.</param>
    /// <param name="maxAge">Age limit; <see cref="DefaultMaxAge"/> when null, none when <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="time">The clock; <see cref="TimeProvider.System"/> when null.</param>
    public LatencyTracker(int capacity = DefaultCapacity, TimeSpan? maxAge = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var age = maxAge ?? DefaultMaxAge;
        if (age <= TimeSpan.Zero && age != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAge), age, "Must be positive, or Timeout.InfiniteTimeSpan for no limit.");
        }

        Capacity = capacity;
        MaxAge = age;
        _time = time ?? TimeProvider.System;
        _milliseconds = new double[capacity];
        _timestamps = new long[capacity];
        _scratch = new double[capacity];
    }

    /// <summary>Samples kept at most.</summary>
    public int Capacity { get; }

    /// <summary>Age after which a sample no longer counts (<see cref="Timeout.InfiniteTimeSpan"/>: none).</summary>
    public TimeSpan MaxAge { get; }

    /// <summary>Samples that currently count (within <see cref="Capacity"/> and <see cref="MaxAge"/>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return CopyLive();
            }
        }
    }

    /// <summary>Adds a sample (negative values count as zero).</summary>
    public void Record(TimeSpan latency)
    {
        double ms = Math.Max(0, latency.TotalMilliseconds);
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            _milliseconds[_next] = ms;
            _timestamps[_next] = now;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
        }
    }

    /// <summary>The nearest-rank <paramref name="q"/>-quantile of the counted samples, or null when there are none.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="q"/> is not in [0, 1].</exception>
    public TimeSpan? Percentile(double q) => Percentile(q, out _);

    /// <summary>As <see cref="Percentile(double)"/>, also giving the number of samples it was computed over.</summary>
    public TimeSpan? Percentile(double q, out int samples)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "The quantile must be in [0, 1].");
        }

        lock (_lock)
        {
            samples = CopyLive();
            if (samples == 0)
            {
                return null;
            }

            var live = _scratch.AsSpan(0, samples);
            live.Sort();
            return TimeSpan.FromMilliseconds(live[Calibration.NearestRankIndex(samples, q)]);
        }
    }

    /// <summary>Copies the samples that count into <see cref="_scratch"/>; returns how many. Under the lock.</summary>
    private int CopyLive()
    {
        bool aged = MaxAge != Timeout.InfiniteTimeSpan;
        long now = aged ? _time.GetTimestamp() : 0;
        int live = 0;
        for (int i = 0; i < _count; i++)
        {
            if (aged && _time.GetElapsedTime(_timestamps[i], now) > MaxAge)
            {
                continue;
            }

            _scratch[live++] = _milliseconds[i];
        }

        return live;
    }
}

/// <summary>Settings of <see cref="HedgeDelay"/>.</summary>
public sealed record HedgeDelayOptions
{
    /// <summary>The latency percentile used as the delay ("The Tail at Scale": hedge at about the p95,
    /// which limits the extra load to about 5%). Default 0.95.</summary>
    public double Percentile { get; init; } = 0.95;

    /// <summary>Smallest delay. Default 20 ms.</summary>
    public TimeSpan Min { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Largest delay. Default 2 s.</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Delay used while fewer than <see cref="MinSamples"/> samples count. Default 250 ms.</summary>
    public TimeSpan Initial { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Samples needed before the percentile is trusted. Default 10.</summary>
    public int MinSamples { get; init; } = 10;
}

/// <summary>How long to wait for the GPU pool's first token before hedging with the local model:
/// clamp(p95 of recent GPU time-to-first-token, <see cref="HedgeDelayOptions.Min"/>,
/// <see cref="HedgeDelayOptions.Max"/>) — <see cref="HedgeDelayOptions.Initial"/> in place of the p95
/// until <see cref="HedgeDelayOptions.MinSamples"/> samples count — and never more than the SLO minus
/// the local model's estimated time-to-first-token, so a local answer started at the hedge point can
/// still begin within the SLO. That bound wins over <see cref="HedgeDelayOptions.Min"/>; the delay is
/// never negative (zero: start local at once). Thread-safe.</summary>
public sealed class HedgeDelay
{
    /// <summary>Hedges on <paramref name="tracker"/>'s samples (GPU time-to-first-token).</summary>
    public HedgeDelay(LatencyTracker tracker, HedgeDelayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        Options = options ?? new HedgeDelayOptions();
        if (!(Options.Percentile >= 0 && Options.Percentile <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.Percentile, "Percentile must be in [0, 1].");
        }

        if (Options.Min < TimeSpan.Zero || Options.Max < Options.Min)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Need 0 ≤ Min ≤ Max.");
        }

        Tracker = tracker;
    }

    /// <summary>The GPU time-to-first-token samples.</summary>
    public LatencyTracker Tracker { get; }

    /// <summary>Percentile, bounds and the initial value.</summary>
    public HedgeDelayOptions Options { get; }

    /// <summary>The hedge delay now (see the class remarks).</summary>
    /// <param name="slo">The time-to-first-token objective of the request.</param>
    /// <param name="localTtftEstimate">How long the local model takes to its first token.</param>
    public TimeSpan Current(TimeSpan slo, TimeSpan localTtftEstimate)
    {
        var p = Tracker.Percentile(Options.Percentile, out int samples);
        var delay = samples >= Options.MinSamples && p is { } observed ? observed : Options.Initial;
        delay = delay < Options.Min ? Options.Min : delay > Options.Max ? Options.Max : delay;
        var bound = slo - localTtftEstimate;
        if (delay > bound)
        {
            delay = bound;
        }

        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }
}
