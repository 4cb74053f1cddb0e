namespace DataPlane.Batching.Batching;

/// <summary>A batcher timer on a <see cref="TimeProvider"/>'s timers (<see cref="TimeProvider.CreateTimer"/>): with
/// <c>FakeTimeProvider</c>, advancing the clock past the armed time runs the batcher's timer decision on the thread
/// that advanced it, before <c>Advance</c> returns, so a unit test sees exactly which batch left at which virtual
/// time. With the system clock it runs on the managed timer queue (millisecond granularity); the daemon uses
/// <see cref="DispatchTimer"/> instead. The callback never runs inside <see cref="Arm"/>: a due time at or before
/// now fires at the clock's next tick.</summary>
public sealed class TimeProviderDispatchTimer : IDispatchTimer
{
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private readonly Func<long> _now;
    private readonly Action _onDue;
    private readonly double _ticksPerNs;
    private long _dueAt = long.MaxValue;
    private bool _disposed;

    public TimeProviderDispatchTimer(TimeProvider time, Func<long> now, Action onDue)
    {
        ArgumentNullException.ThrowIfNull(time);
        _now = now;
        _onDue = onDue;
        _ticksPerNs = TimeSpan.TicksPerSecond / 1e9;
        _timer = time.CreateTimer(static state => ((TimeProviderDispatchTimer)state!).OnTick(), this,
            Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A factory for <see cref="ModelBatcher"/> that makes every model's timer on <paramref name="time"/>.</summary>
    public static DispatchTimerFactory Factory(TimeProvider time) => (_, now, onDue) => new TimeProviderDispatchTimer(time, now, onDue);

    /// <summary>The armed due time (<see cref="long.MaxValue"/> when disarmed).</summary>
    public long DueAt
    {
        get
        {
            lock (_gate)
            {
                return _dueAt;
            }
        }
    }

    public void Arm(long dueAt)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _dueAt = dueAt;
            Schedule();
        }
    }

    /// <summary>Always complete: there is no thread of its own that could be stuck.</summary>
    public Task HeartbeatAsync() => Task.CompletedTask;

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _dueAt = long.MaxValue;
        }

        _timer.Dispose();
    }

    /// <summary>Under the gate: points the timer at the due time, rounded up to the clock's tick and never zero, so the
    /// callback cannot run inside <see cref="Arm"/> (the batcher arms under its lock).</summary>
    private void Schedule()
    {
        if (_dueAt == long.MaxValue)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        long ticks = Math.Max(1, (long)Math.Ceiling((_dueAt - _now()) * _ticksPerNs));
        _timer.Change(TimeSpan.FromTicks(ticks), Timeout.InfiniteTimeSpan);
    }

    private void OnTick()
    {
        lock (_gate)
        {
            if (_disposed || _dueAt == long.MaxValue)
            {
                return;
            }

            if (_dueAt > _now())
            {
                Schedule(); // woke early (a timer of coarser granularity than the clock): wait for the rest
                return;
            }

            _dueAt = long.MaxValue;
        }

        _onDue();
    }
}
