using DataPlane.Interop.Threading;
using DataPlane.Interop.Timing;

namespace DataPlane.Batching.Batching;

/// <summary>The timer of one model's batcher: a dedicated thread that sleeps until the next
/// decision point (a window's end or the earliest deadline) with sub-millisecond precision and
/// then calls back. Arming an earlier time wakes it at once; arming a later one lets it wake,
/// find nothing due and sleep again. Being a dedicated thread, it can be pinned to a reserved
/// core (CPU isolation) and never waits behind thread-pool work. The daemon's <see cref="IDispatchTimer"/>, and
/// <see cref="ModelBatcher"/>'s default.</summary>
public sealed class DispatchTimer : IDispatchTimer
{
    private readonly WaitSignal _signal = new();
    private readonly Thread _thread;
    private readonly Func<long> _now;
    private readonly Action _onDue;
    private long _dueAt = long.MaxValue;
    private volatile bool _stopped;
    private TaskCompletionSource? _heartbeat;

    /// <summary>Makes the timer of one batcher: the <see cref="DispatchTimerFactory"/> <see cref="ModelBatcher"/> uses
    /// unless it is given another.</summary>
    public static DispatchTimerFactory Factory { get; } = static (name, now, onDue) => new DispatchTimer(name, now, onDue);

    public DispatchTimer(string name, Func<long> now, Action onDue)
    {
        _now = now;
        _onDue = onDue;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Sets the next due time (monotonic ns; <see cref="long.MaxValue"/> disarms).</summary>
    public void Arm(long dueAt)
    {
        long previous = Interlocked.Exchange(ref _dueAt, dueAt);
        if (dueAt < previous)
        {
            _signal.Set();
        }
    }

    /// <summary>Completes when the timer's thread next goes round its loop: a liveness probe that does not touch the
    /// due time. It never completes while the thread is stuck in the callback (or stopped), so a wedged dispatch
    /// loop shows as a probe that times out.</summary>
    public Task HeartbeatAsync()
    {
        // Continuations run on the thread pool, never on the (possibly pinned) timer thread.
        var beat = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = Interlocked.CompareExchange(ref _heartbeat, beat, null);
        if (pending is not null)
        {
            return pending.Task;
        }

        _signal.Set();
        return beat.Task;
    }

    private void Run()
    {
        // Pinned to a reserved core when the daemon runs with CPU isolation (Tuning:HotCpus); otherwise a no-op.
        HotThreads.Enter();
        while (!_stopped)
        {
            if (Volatile.Read(ref _heartbeat) is not null)
            {
                Interlocked.Exchange(ref _heartbeat, null)?.TrySetResult();
            }

            long due = Volatile.Read(ref _dueAt);
            long now = _now();
            if (due == long.MaxValue)
            {
                _signal.WaitNanoseconds(-1);
                continue;
            }

            if (due > now)
            {
                _signal.WaitNanoseconds(due - now);
                continue;
            }

            if (Interlocked.CompareExchange(ref _dueAt, long.MaxValue, due) == due)
            {
                _onDue();
            }
        }
    }

    public void Dispose()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _signal.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
        _signal.Dispose();
    }
}
