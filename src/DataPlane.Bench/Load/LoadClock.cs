using DataPlane.Interop.Timing;

namespace DataPlane.Bench.Load;

/// <summary>The engine's time: now in nanoseconds, and the blocking waits of the pacing thread.
/// <para><see cref="TimeProvider.System"/> gets CLOCK_MONOTONIC (the clock the senders time answers with) and
/// waits of sub-millisecond precision (ppoll on an eventfd, no spinning); any other provider — a test clock —
/// gets its own timestamps (nanoseconds since the run started) and timers.</para></summary>
internal abstract class LoadClock
{
    /// <summary>The clock for <paramref name="time"/>.</summary>
    public static LoadClock For(TimeProvider time) =>
        ReferenceEquals(time, TimeProvider.System) ? Monotonic.Instance : new Provided(time);

    /// <summary>Now, in nanoseconds.</summary>
    public abstract long NowNanoseconds();

    /// <summary>A waiter for one pacing thread.</summary>
    public abstract Waiter CreateWaiter();

    /// <summary>Blocks one thread until a time or a wake-up.</summary>
    public abstract class Waiter : IDisposable
    {
        /// <summary>Makes the current or next <see cref="Wait"/> return at once (from any thread).</summary>
        public abstract void Wake();

        /// <summary>Blocks until about <paramref name="dueNs"/> (it was <paramref name="nowNs"/> a moment ago) or a
        /// <see cref="Wake"/>. May return early: the caller reads the clock again.</summary>
        public abstract void Wait(long dueNs, long nowNs);

        /// <inheritdoc/>
        public abstract void Dispose();
    }

    private sealed class Monotonic : LoadClock
    {
        public static readonly Monotonic Instance = new();

        public override long NowNanoseconds() => PreciseSleep.MonotonicNanoseconds();

        public override Waiter CreateWaiter() => new SignalWaiter();

        private sealed class SignalWaiter : Waiter
        {
            private readonly WaitSignal _signal = new();

            public override void Wake() => _signal.Set();

            public override void Wait(long dueNs, long nowNs) => _signal.WaitNanoseconds(dueNs - nowNs);

            public override void Dispose() => _signal.Dispose();
        }
    }

    private sealed class Provided(TimeProvider time) : LoadClock
    {
        private readonly long _origin = time.GetTimestamp();

        public override long NowNanoseconds() => time.GetElapsedTime(_origin).Ticks * 100;

        public override Waiter CreateWaiter() => new TimerWaiter(this, time);

        private sealed class TimerWaiter(Provided clock, TimeProvider time) : Waiter
        {
            private readonly ManualResetEventSlim _signal = new();

            public override void Wake() => _signal.Set();

            public override void Wait(long dueNs, long nowNs)
            {
                var delay = TimeSpan.FromTicks((dueNs - nowNs + 99) / 100);
                using (time.CreateTimer(static s => ((ManualResetEventSlim)s!).Set(), _signal, delay, Timeout.InfiniteTimeSpan))
                {
                    // The clock may have reached the due time before the timer existed: then nothing would fire it.
                    if (clock.NowNanoseconds() < dueNs)
                    {
                        _signal.Wait();
                    }
                }

                _signal.Reset();
            }

            public override void Dispose() => _signal.Dispose();
        }
    }
}
