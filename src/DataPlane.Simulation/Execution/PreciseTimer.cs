using DataPlane.Interop.Timing;

namespace DataPlane.Simulation.Execution;

/// <summary>Asynchronous waits until a CLOCK_MONOTONIC time with sub-millisecond precision, for
/// any number of waiters: one dedicated thread sleeps on a <see cref="WaitSignal"/> until the
/// earliest due time and completes the waits that are due. <see cref="Task.Delay(TimeSpan)"/>
/// rounds to the timer tick (about 1 ms), which would distort token schedules.
/// Completions run asynchronously, never on the timer thread.</summary>
internal sealed class PreciseTimer : IDisposable
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<Waiter, long> _waiters = new();
    private readonly WaitSignal _signal = new();
    private readonly Thread _thread;
    private volatile bool _stopped;

    public PreciseTimer(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Current CLOCK_MONOTONIC time in nanoseconds.</summary>
    public static long Now => PreciseSleep.MonotonicNanoseconds();

    /// <summary>Completes when CLOCK_MONOTONIC reaches <paramref name="dueNs"/> (at once when it has),
    /// or is cancelled by <paramref name="cancellationToken"/>.</summary>
    public Task WaitUntilAsync(long dueNs, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        if (dueNs <= Now)
        {
            return Task.CompletedTask;
        }

        var waiter = new Waiter();
        if (cancellationToken.CanBeCanceled)
        {
            // Registered before the waiter is queued, so the timer thread sees the registration.
            // A cancelled waiter stays queued until due; completing it then does nothing.
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((Waiter)state!).Completion.TrySetCanceled(token), waiter);
        }

        bool earliest;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            earliest = !_waiters.TryPeek(out _, out long first) || dueNs < first;
            _waiters.Enqueue(waiter, dueNs);
        }

        if (earliest)
        {
            _signal.Set();
        }

        return waiter.Completion.Task;
    }

    private void Run()
    {
        var due = new List<Waiter>();
        while (!_stopped)
        {
            long wait = -1;
            lock (_lock)
            {
                long now = Now;
                while (_waiters.TryPeek(out var waiter, out long at))
                {
                    if (at > now)
                    {
                        wait = at - now;
                        break;
                    }

                    due.Add(_waiters.Dequeue());
                }
            }

            foreach (var waiter in due)
            {
                waiter.Registration.Dispose();
                waiter.Completion.TrySetResult();
            }

            due.Clear();
            _signal.WaitNanoseconds(wait);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        _signal.Set();
        _thread.Join();
        foreach (var (waiter, _) in _waiters.UnorderedItems)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetException(new ObjectDisposedException(nameof(PreciseTimer), "the simulated Triton was stopped"));
        }

        _waiters.Clear();
        _signal.Dispose();
    }

    private sealed class Waiter
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }
}
