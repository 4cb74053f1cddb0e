namespace DataPlane.Batching.Batching;

/// <summary>The timer of one model's batcher: calls the batcher back once the time it was armed for has passed (a
/// window's end or the earliest deadline in the queue). <see cref="DispatchTimer"/>, a dedicated thread with
/// sub-millisecond sleeps, is the daemon's; <see cref="TimeProviderDispatchTimer"/> runs on a
/// <see cref="TimeProvider"/>'s timers, so a test clock decides when the batcher's timer decisions happen.</summary>
public interface IDispatchTimer : IDisposable
{
    /// <summary>Sets the next due time (monotonic ns on the batcher's clock; <see cref="long.MaxValue"/> disarms). A new
    /// time replaces the previous one. Called under the batcher's lock: it must not block, allocate or call back.</summary>
    void Arm(long dueAt);

    /// <summary>Completes when the timer is able to call back: the liveness probe behind the daemon's watchdog.</summary>
    Task HeartbeatAsync();
}

/// <summary>Makes the timer of one model's batcher: <paramref name="name"/> names it (a thread name, at most),
/// <paramref name="now"/> is the batcher's clock in monotonic ns, and <paramref name="onDue"/> is the callback, run
/// once per arming after its due time has passed, never under the batcher's lock.</summary>
public delegate IDispatchTimer DispatchTimerFactory(string name, Func<long> now, Action onDue);
