using System.ComponentModel;

namespace DataPlane.Interop.Timing;

/// <summary>Sleeps with the precision of the kernel's high-resolution timers (tens of
/// microseconds) instead of the millisecond granularity of <see cref="Thread.Sleep(TimeSpan)"/>.
/// Blocks the calling thread: use it on dedicated threads only.</summary>
public static class PreciseSleep
{
    /// <summary>Current CLOCK_MONOTONIC time in nanoseconds.</summary>
    public static unsafe long MonotonicNanoseconds()
    {
        Interop.Libc.Timespec ts;
        if (Interop.Libc.ClockGettime(Interop.Libc.CLOCK_MONOTONIC, &ts) != 0)
        {
            throw new Win32Exception(Interop.Libc.LastErrno, "clock_gettime(CLOCK_MONOTONIC) failed");
        }

        return ts.ToNanoseconds();
    }

    /// <summary>Sleeps until CLOCK_MONOTONIC reaches <paramref name="deadlineNs"/>; returns at once
    /// when it already has. Signals do not shorten the sleep.</summary>
    public static unsafe void Until(long deadlineNs)
    {
        var ts = Interop.Libc.Timespec.FromNanoseconds(deadlineNs);
        while (true)
        {
            int rc = Interop.Libc.ClockNanosleep(Interop.Libc.CLOCK_MONOTONIC, Interop.Libc.TIMER_ABSTIME, &ts, null);
            if (rc == 0)
            {
                return;
            }

            if (rc != Interop.Libc.EINTR)
            {
                throw new Win32Exception(rc, "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) failed");
            }
        }
    }

    /// <summary>Sleeps for <paramref name="duration"/>; zero or negative returns at once.</summary>
    public static void For(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        Until(MonotonicNanoseconds() + (long)(duration.TotalMilliseconds * 1_000_000));
    }
}
