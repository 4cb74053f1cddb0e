using DataPlane.Batching.Batching;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Batching.Tests.Batching;

/// <summary>The test clock's timer behaves as the dispatch thread does: one callback per arming once its time has
/// passed, an earlier time replaces a later one, <see cref="long.MaxValue"/> disarms, and arming never calls back.</summary>
public sealed class TimeProviderDispatchTimerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(1, 1, 2, 0, 0, 0, TimeSpan.Zero));
    private int _calls;

    private long Now => _time.GetTimestamp() * 100;

    private TimeProviderDispatchTimer Timer() => new(_time, () => Now, () => _calls++);

    [Fact]
    public void Calls_back_once_when_its_time_has_passed()
    {
        using var timer = Timer();
        timer.Arm(Now + 1_500); // 1.5 µs: rounded up to the clock's 100 ns ticks
        _time.Advance(TimeSpan.FromTicks(14));
        Assert.Equal(0, _calls);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, _calls);
        Assert.Equal(long.MaxValue, timer.DueAt);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _calls);
    }

    [Fact]
    public void A_new_time_replaces_the_old_and_max_value_disarms()
    {
        using var timer = Timer();
        timer.Arm(Now + 10_000_000);
        timer.Arm(Now + 1_000_000);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _calls);

        timer.Arm(Now + 1_000_000);
        timer.Arm(long.MaxValue);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, _calls);
    }

    [Fact]
    public void A_time_already_past_calls_back_at_the_next_tick_never_inside_arm()
    {
        using var timer = Timer();
        timer.Arm(Now - 5);
        Assert.Equal(0, _calls);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, _calls);
    }

    [Fact]
    public void Disposed_it_never_calls_back()
    {
        var timer = Timer();
        timer.Arm(Now + 1_000);
        timer.Dispose();
        timer.Arm(Now + 1_000);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, _calls);
        Assert.True(timer.HeartbeatAsync().IsCompletedSuccessfully);
    }
}
