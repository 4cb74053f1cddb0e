using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class HedgeDelayTests
{
    private readonly ManualTimeProvider _clock = new();

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    private static readonly TimeSpan Slo = TimeSpan.FromSeconds(10);

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var tracker = new LatencyTracker(time: _clock);
        foreach (int ms in Enumerable.Range(1, 100).Reverse())
        {
            tracker.Record(Ms(ms));
        }

        Assert.Equal(100, tracker.Count);
        Assert.Equal(Ms(95), tracker.Percentile(0.95));
        Assert.Equal(Ms(50), tracker.Percentile(0.5));
        Assert.Equal(Ms(1), tracker.Percentile(0));
        Assert.Equal(Ms(100), tracker.Percentile(1));
    }

    [Fact]
    public void No_samples_means_no_percentile()
    {
        var tracker = new LatencyTracker(time: _clock);
        Assert.Null(tracker.Percentile(0.95));
        Assert.Equal(0, tracker.Count);
        Assert.Equal("q", Assert.Throws<ArgumentOutOfRangeException>(() => tracker.Percentile(1.5)).ParamName);
    }

    [Fact]
    public void Only_the_last_capacity_samples_count()
    {
        var tracker = new LatencyTracker(capacity: 10, time: _clock);
        for (int ms = 1; ms <= 20; ms++)
        {
            tracker.Record(Ms(ms));
        }

        Assert.Equal(10, tracker.Count);
        Assert.Equal(Ms(11), tracker.Percentile(0));
        Assert.Equal(Ms(20), tracker.Percentile(1));
    }

    [Fact]
    public void Samples_older_than_the_window_stop_counting()
    {
        var tracker = new LatencyTracker(maxAge: TimeSpan.FromSeconds(10), time: _clock);
        for (int i = 0; i < 5; i++)
        {
            tracker.Record(Ms(900));
        }

        _clock.Advance(TimeSpan.FromSeconds(6));
        tracker.Record(Ms(300));
        Assert.Equal(6, tracker.Count);
        _clock.Advance(TimeSpan.FromSeconds(5)); // the first five are now 11 s old
        Assert.Equal(1, tracker.Count);
        Assert.Equal(Ms(300), tracker.Percentile(0.95));

        var forever = new LatencyTracker(maxAge: Timeout.InfiniteTimeSpan, time: _clock);
        forever.Record(Ms(1));
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, forever.Count);
    }

    [Fact]
    public void Hedge_defaults_are_documented()
    {
        var o = new HedgeDelayOptions();
        Assert.Equal(0.95, o.Percentile);
        Assert.Equal(Ms(20), o.Min);
        Assert.Equal(TimeSpan.FromSeconds(2), o.Max);
        Assert.Equal(Ms(250), o.Initial);
        Assert.Equal(10, o.MinSamples);
        Assert.Equal(200, new LatencyTracker().Capacity);
    }

    [Fact]
    public void Before_enough_samples_the_initial_delay_is_used()
    {
        var tracker = new LatencyTracker(time: _clock);
        var hedge = new HedgeDelay(tracker);
        Assert.Equal(Ms(250), hedge.Current(Slo, Ms(500)));
        for (int i = 0; i < 9; i++)
        {
            tracker.Record(Ms(80));
        }

        Assert.Equal(Ms(250), hedge.Current(Slo, Ms(500)));
        tracker.Record(Ms(80));
        Assert.Equal(Ms(80), hedge.Current(Slo, Ms(500)));
    }

    [Fact]
    public void The_delay_is_the_p95_of_recent_gpu_ttft()
    {
        var tracker = new LatencyTracker(time: _clock);
        var hedge = new HedgeDelay(tracker);
        foreach (int ms in Enumerable.Range(1, 100))
        {
            tracker.Record(Ms(ms * 10));
        }

        Assert.Equal(Ms(950), hedge.Current(Slo, Ms(500)));
    }

    [Fact]
    public void The_delay_is_clamped_to_min_and_max()
    {
        var fast = new LatencyTracker(time: _clock);
        var slow = new LatencyTracker(time: _clock);
        for (int i = 0; i < 20; i++)
        {
            fast.Record(Ms(5));
            slow.Record(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(Ms(20), new HedgeDelay(fast).Current(Slo, Ms(500)));
        Assert.Equal(TimeSpan.FromSeconds(2), new HedgeDelay(slow).Current(Slo, Ms(500)));
    }

    [Fact]
    public void The_delay_leaves_room_for_a_local_answer_within_the_slo()
    {
        var tracker = new LatencyTracker(time: _clock);
        for (int i = 0; i < 20; i++)
        {
            tracker.Record(Ms(800));
        }

        var hedge = new HedgeDelay(tracker);
        Assert.Equal(Ms(800), hedge.Current(TimeSpan.FromSeconds(2), Ms(900)));
        Assert.Equal(Ms(100), hedge.Current(TimeSpan.FromSeconds(1), Ms(900)));
        Assert.Equal(Ms(10), hedge.Current(TimeSpan.FromSeconds(1), Ms(990))); // the SLO bound wins over Min
        Assert.Equal(TimeSpan.Zero, hedge.Current(TimeSpan.FromSeconds(1), Ms(1500))); // never negative
    }

    [Fact]
    public void Recording_from_many_threads_keeps_the_window_consistent()
    {
        var tracker = new LatencyTracker(capacity: 200, time: _clock);
        Parallel.For(0, 8, t =>
        {
            for (int i = 0; i < 1000; i++)
            {
                tracker.Record(Ms(10 + t));
                _ = tracker.Percentile(0.95);
            }
        });

        Assert.Equal(200, tracker.Count);
        Assert.InRange(tracker.Percentile(0.95)!.Value.TotalMilliseconds, 10, 17);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatencyTracker(capacity: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatencyTracker(maxAge: TimeSpan.Zero));
        var tracker = new LatencyTracker();
        Assert.Throws<ArgumentOutOfRangeException>(() => new HedgeDelay(tracker, new HedgeDelayOptions { Min = Ms(10), Max = Ms(5) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HedgeDelay(tracker, new HedgeDelayOptions { Percentile = 2 }));
    }
}
