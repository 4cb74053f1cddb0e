using System.Diagnostics;
using DataPlane.Interop.Threading;

namespace DataPlane.Transfer.Engine;

/// <summary>A completion queue as the poller sees it. The RDMA transport implements it over a CQ and its
/// completion channel (<c>ibv_poll_cq</c>, <c>ibv_req_notify_cq</c>, <c>ibv_get_cq_event</c> +
/// <c>ibv_ack_cq_events</c>).</summary>
public interface ICompletionQueue
{
    /// <summary>Takes and dispatches up to <paramref name="max"/> completions (completing their Tasks);
    /// returns how many there were.</summary>
    int Poll(int max);

    /// <summary>Arms the completion event (<c>ibv_req_notify_cq</c>) so the next completion wakes
    /// <see cref="WaitForEvent"/>.</summary>
    void Arm();

    /// <summary>Blocks until a completion event arrives (then consumes and acknowledges it) or the timeout
    /// passes. Returns true on an event.</summary>
    bool WaitForEvent(TimeSpan timeout);
}

/// <summary>Completion polling on a dedicated thread, pinned to a hot CPU (<see cref="HotThreads"/>): busy-polls
/// while completions keep coming and for <c>busyPollBudget</c> after the last one (the lowest latency, at the cost
/// of a core), then arms the completion channel, polls once more (a completion that raced the arming would
/// otherwise be missed until the next one), and sleeps until the event. perftest busy-polls by default and
/// sleeps with <c>-e</c>; Mooncake's workers busy-poll; this does both.</summary>
public sealed class CompletionPoller : IDisposable
{
    private static readonly TimeSpan s_wakeInterval = TimeSpan.FromMilliseconds(100);

    private readonly ICompletionQueue _queue;
    private readonly long _budgetTicks;
    private readonly int _batch;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _completions;
    private long _sleeps;

    /// <summary>Starts the poller thread named <paramref name="name"/>.</summary>
    public CompletionPoller(ICompletionQueue queue, TimeSpan busyPollBudget, int batch = 16, string name = "transfer-poller")
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(busyPollBudget, TimeSpan.Zero);
        _queue = queue;
        _batch = batch;
        _budgetTicks = (long)(busyPollBudget.TotalSeconds * Stopwatch.Frequency);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Completions dispatched so far.</summary>
    public long Completions => Interlocked.Read(ref _completions);

    /// <summary>Times the poller went to sleep on the completion event.</summary>
    public long Sleeps => Interlocked.Read(ref _sleeps);

    /// <summary>The CPU the thread was pinned to, or -1.</summary>
    public int Cpu { get; private set; } = -1;

    /// <summary>The last exception thrown by the queue (the poller keeps going).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Stops the thread (within the event wait's wake interval) and waits for it.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        Cpu = HotThreads.Enter();
        long idleSince = Stopwatch.GetTimestamp();
        while (!_stop)
        {
            try
            {
                int n = _queue.Poll(_batch);
                if (n > 0)
                {
                    Interlocked.Add(ref _completions, n);
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }

                if (Stopwatch.GetTimestamp() - idleSince < _budgetTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                _queue.Arm();
                n = _queue.Poll(_batch);
                if (n > 0)
                {
                    Interlocked.Add(ref _completions, n);
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }

                Interlocked.Increment(ref _sleeps);
                _queue.WaitForEvent(s_wakeInterval);
                idleSince = Stopwatch.GetTimestamp();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A failing queue must not kill the thread that completes every other transfer.
                LastError = e;
                Thread.Sleep(1);
            }
        }
    }
}
