using System.Diagnostics;
using DataPlane.Interop.Timing;

namespace DataPlane.Interop.Tests;

public class TimingTests
{
    [Fact]
    public void Monotonic_clock_matches_the_stopwatch_clock()
    {
        // Stopwatch reads CLOCK_MONOTONIC on Linux; both must agree to well within a millisecond.
        long a = PreciseSleep.MonotonicNanoseconds();
        long s = (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
        long b = PreciseSleep.MonotonicNanoseconds();
        Assert.InRange(s, a - 1_000_000, b + 1_000_000);
    }

    [Fact]
    public void Sleep_never_returns_early()
    {
        long start = PreciseSleep.MonotonicNanoseconds();
        PreciseSleep.For(TimeSpan.FromMicroseconds(1500));
        Assert.True(PreciseSleep.MonotonicNanoseconds() - start >= 1_500_000);

        long deadline = PreciseSleep.MonotonicNanoseconds() + 700_000;
        PreciseSleep.Until(deadline);
        Assert.True(PreciseSleep.MonotonicNanoseconds() >= deadline);
        PreciseSleep.Until(deadline - 1_000_000_000); // in the past: returns at once
    }

    [Fact]
    public void Wait_times_out_no_earlier_than_asked()
    {
        using var signal = new WaitSignal();
        long start = PreciseSleep.MonotonicNanoseconds();
        Assert.False(signal.WaitNanoseconds(1_200_000));
        Assert.True(PreciseSleep.MonotonicNanoseconds() - start >= 1_200_000);
        Assert.False(signal.Wait(TimeSpan.Zero));
    }

    [Fact]
    public void Set_before_wait_is_remembered_once()
    {
        using var signal = new WaitSignal();
        signal.Set();
        signal.Set();
        Assert.True(signal.Wait(TimeSpan.FromSeconds(5)));
        Assert.False(signal.Wait(TimeSpan.Zero));
    }

    [Fact]
    public async Task Set_from_another_thread_wakes_an_unbounded_wait()
    {
        using var signal = new WaitSignal();
        var waiter = Task.Factory.StartNew(() => signal.Wait(Timeout.InfiniteTimeSpan), TaskCreationOptions.LongRunning);
        await Task.Delay(20);
        Assert.False(waiter.IsCompleted);
        signal.Set();
        Assert.True(await waiter.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
