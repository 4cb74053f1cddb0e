using DataPlane.Testing;
using DataPlane.Transfer.Engine;

namespace DataPlane.Transfer.Tests.Engine;

public class CompletionPollerTests
{
    [Fact]
    public async Task Poller_dispatches_completions_then_sleeps_until_the_event()
    {
        var queue = new FakeQueue();
        using (var poller = new CompletionPoller(queue, TimeSpan.FromMicroseconds(100), batch: 4))
        {
            queue.Add(10);
            await Eventually.TrueAsync(() => poller.Completions == 10, TestSupport.Patience, "poller.Completions == 10");
            await Eventually.TrueAsync(() => poller.Sleeps > 0 && queue.Armed, TestSupport.Patience, "poller.Sleeps > 0 && queue.Armed");

            queue.Add(3);
            await Eventually.TrueAsync(() => poller.Completions == 13, TestSupport.Patience, "poller.Completions == 13");
            Assert.True(queue.MaxBatch <= 4);
            Assert.Null(poller.LastError);
        }

        Assert.True(queue.Waits > 0);
    }

    [Fact]
    public async Task Zero_budget_is_purely_event_driven_and_a_failing_queue_does_not_stop_it()
    {
        var queue = new FakeQueue { FailNextPoll = true };
        using var poller = new CompletionPoller(queue, TimeSpan.Zero);
        await Eventually.TrueAsync(() => poller.LastError is not null, TestSupport.Patience, "poller.LastError is not null");
        queue.Add(1);
        await Eventually.TrueAsync(() => poller.Completions == 1, TestSupport.Patience, "poller.Completions == 1");
    }

    private sealed class FakeQueue : ICompletionQueue
    {
        private readonly SemaphoreSlim _event = new(0);
        private int _pending;
        private volatile bool _armed;

        public bool FailNextPoll { get; set; }

        public bool Armed => _armed;

        public int MaxBatch { get; private set; }

        public int Waits { get; private set; }

        public void Add(int n)
        {
            Interlocked.Add(ref _pending, n);
            if (_armed)
            {
                _armed = false;
                _event.Release();
            }
        }

        public int Poll(int max)
        {
            if (FailNextPoll)
            {
                FailNextPoll = false;
                throw new InvalidOperationException("poll failed");
            }

            MaxBatch = Math.Max(MaxBatch, max);
            while (true)
            {
                int pending = Volatile.Read(ref _pending);
                int take = Math.Min(pending, max);
                if (Interlocked.CompareExchange(ref _pending, pending - take, pending) == pending)
                {
                    return take;
                }
            }
        }

        public void Arm() => _armed = true;

        public bool WaitForEvent(TimeSpan timeout)
        {
            Waits++;
            return _event.Wait(timeout);
        }
    }
}
