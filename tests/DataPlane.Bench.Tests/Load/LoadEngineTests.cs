using System.Threading.Channels;
using DataPlane.Bench.Load;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Bench.Tests.Load;

/// <summary>The load loop's decisions — when requests leave, how many are in flight, what is measured — with a sender
/// the test answers and a clock the test moves. The clock moves only by whole gaps of the schedule, and only after
/// the test has seen the send before, so the pacing thread is never between reading the clock and arming its timer
/// when the due time passes.</summary>
public class LoadEngineTests
{
    private const long Ms = 1_000_000;
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Open_loop_sends_on_schedule_without_waiting_for_answers_and_counts_latency_from_the_schedule()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: false);
        var run = LoadEngine.RunAsync(Plan(LoadMode.Constant, 1000, warmupMs: 0, durationMs: 5), sender, time, null, CancellationToken.None);

        for (int k = 0; k < 5; k++)
        {
            var call = await sender.NextAsync();
            Assert.Equal(k, call.Sequence);
            Assert.Equal(k * Ms, call.ScheduledNs);
            if (k < 4)
            {
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        Assert.Equal(5, sender.InFlight);
        Assert.False(run.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(10));
        sender.AnswerAll();
        var r = await run.WaitAsync(s_patience);

        Assert.Equal([0L, 1, 2, 3, 4], r.Samples.Select(s => s.Sequence));
        Assert.Equal([14 * Ms, 13 * Ms, 12 * Ms, 11 * Ms, 10 * Ms], r.Samples.Select(s => s.LatencyNs));
        Assert.Equal([0, 1, 2, 3, 4], r.Samples.Select(s => s.Result));
        Assert.Equal(0, r.LateSends);
        Assert.Equal(0, r.MaxSendLagNs);
        Assert.Equal(0, r.WindowStartNs);
        Assert.Equal(5, sender.MaxInFlight);
    }

    [Fact]
    public async Task A_send_that_holds_the_pacer_makes_the_next_ones_late_and_their_latency_shows_it()
    {
        var time = new FakeTimeProvider();
        // Request 2 keeps the pacing thread for 3 ms (as serialising a huge request would).
        var sender = new Sender(answerAtOnce: true, onSend: call => { if (call.Sequence == 2) time.Advance(TimeSpan.FromMilliseconds(3)); });
        var run = LoadEngine.RunAsync(Plan(LoadMode.Constant, 1000, warmupMs: 0, durationMs: 8), sender, time, null, CancellationToken.None);

        for (int k = 0; k < 8; k++)
        {
            _ = await sender.NextAsync();
            if (k is 0 or 1 or 5 or 6)
            {
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        var r = await run.WaitAsync(s_patience);

        // Request 3 left 2 ms late (late: over the 1 ms threshold), request 4 1 ms late (not over it), request 5 on time.
        Assert.Equal(1, r.LateSends);
        Assert.Equal(2 * Ms, r.MaxSendLagNs);
        Assert.Equal([0, 0, 3 * Ms, 2 * Ms, 1 * Ms, 0, 0, 0], r.Samples.Select(s => s.LatencyNs));
    }

    [Fact]
    public async Task Open_loop_sends_leave_at_the_times_of_the_arrival_schedule()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: true);
        var plan = Plan(LoadMode.Poisson, 2000, warmupMs: 0, durationMs: 10) with { Seed = 7 };
        long[] expected = ArrivalSchedule.Create(LoadMode.Poisson, 2000, 0.010, 7);
        var run = LoadEngine.RunAsync(plan, sender, time, null, CancellationToken.None);

        long nowTicks = 0;
        foreach (long due in expected)
        {
            // The test clock counts 100 ns ticks: move to the first tick at or after the due time.
            long dueTicks = (due + 99) / 100;
            time.Advance(TimeSpan.FromTicks(dueTicks - nowTicks));
            nowTicks = dueTicks;
            var call = await sender.NextAsync();
            Assert.Equal(due, call.ScheduledNs);
        }

        var r = await run.WaitAsync(s_patience);
        Assert.Equal(expected.Length, r.Samples.Count);
    }

    [Fact]
    public async Task Warm_up_requests_are_sent_but_not_measured_and_the_hook_runs_when_it_ends()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: true);
        var hookRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = LoadEngine.RunAsync(Plan(LoadMode.Constant, 1000, warmupMs: 2, durationMs: 3), sender, time,
            () => { hookRan.SetResult(); return Task.CompletedTask; }, CancellationToken.None);

        _ = await sender.NextAsync();
        time.Advance(TimeSpan.FromMilliseconds(1));
        _ = await sender.NextAsync();
        Assert.False(hookRan.Task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await hookRan.Task.WaitAsync(s_patience);
        for (int k = 2; k < 5; k++)
        {
            _ = await sender.NextAsync();
            if (k < 4)
            {
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        var r = await run.WaitAsync(s_patience);
        Assert.Equal(5, sender.Sent);
        Assert.Equal([2L, 3, 4], r.Samples.Select(s => s.Sequence));
        Assert.Equal(2 * Ms, r.WindowStartNs);
    }

    [Fact]
    public async Task Closed_loop_keeps_exactly_its_workers_busy_and_measures_only_the_window()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: false);
        var run = LoadEngine.RunAsync(Plan(LoadMode.Closed, 3, warmupMs: 1, durationMs: 4), sender, time, null, CancellationToken.None);

        var first = new[] { await sender.NextAsync(), await sender.NextAsync(), await sender.NextAsync() };
        Assert.Equal([0L, 1, 2], first.Select(c => c.Sequence).Order());
        Assert.All(first, c => Assert.Equal(0, c.ScheduledNs));
        // Every worker waits for its answer: no fourth request can exist.
        Assert.False(sender.TryNext(out _));
        Assert.Equal(3, sender.InFlight);

        time.Advance(TimeSpan.FromMilliseconds(1));
        sender.Answer(first[0]);
        var next = await sender.NextAsync();
        Assert.Equal(3, next.Sequence);
        Assert.Equal(1 * Ms, next.ScheduledNs);
        Assert.False(sender.TryNext(out _));

        time.Advance(TimeSpan.FromMilliseconds(4));
        sender.AnswerAll();
        var r = await run.WaitAsync(s_patience);

        // Requests started in the warm-up are not measured; none starts at or after the end of the window.
        var sample = Assert.Single(r.Samples);
        Assert.Equal(3, sample.Sequence);
        Assert.Equal(4 * Ms, sample.LatencyNs);
        Assert.Equal(1 * Ms, r.WindowStartNs);
        Assert.Equal(4, sender.Sent);
        Assert.Equal(3, sender.MaxInFlight);
        Assert.Equal(0, r.LateSends);
    }

    [Fact]
    public async Task Cancelling_stops_the_sending_waits_for_the_requests_in_flight_and_throws()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: false);
        using var cts = new CancellationTokenSource();
        var run = LoadEngine.RunAsync(Plan(LoadMode.Constant, 1000, warmupMs: 0, durationMs: 1000), sender, time, null, cts.Token);
        var call = await sender.NextAsync();

        await cts.CancelAsync();

        Assert.False(run.IsCompleted);
        call.Done.SetCanceled(cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(s_patience));
        Assert.Equal(1, sender.Sent);
    }

    [Fact]
    public async Task A_sender_that_throws_fails_the_run_once_the_others_have_ended()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: true, onSend: call =>
        {
            if (call.Sequence == 1)
            {
                throw new InvalidDataException("malformed");
            }
        });
        var run = LoadEngine.RunAsync(Plan(LoadMode.Constant, 1000, warmupMs: 0, durationMs: 3), sender, time, null, CancellationToken.None);

        _ = await sender.NextAsync();
        time.Advance(TimeSpan.FromMilliseconds(1));
        _ = await sender.NextAsync();
        time.Advance(TimeSpan.FromMilliseconds(1));
        _ = await sender.NextAsync();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => run.WaitAsync(s_patience));
        Assert.IsType<InvalidDataException>(e.InnerException);
    }

    [Fact]
    public async Task A_plan_without_load_or_with_part_of_a_worker_is_refused()
    {
        var time = new FakeTimeProvider();
        var sender = new Sender(answerAtOnce: true);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            LoadEngine.RunAsync(Plan(LoadMode.Closed, 2.5, 0, 1), sender, time, null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            LoadEngine.RunAsync(Plan(LoadMode.Poisson, 0, 0, 1), sender, time, null, CancellationToken.None));
        Assert.Equal(0, sender.Sent);
    }

    private static LoadPlan Plan(LoadMode mode, double offered, int warmupMs, int durationMs) => new()
    {
        Mode = mode,
        Offered = offered,
        Warmup = TimeSpan.FromMilliseconds(warmupMs),
        Duration = TimeSpan.FromMilliseconds(durationMs),
    };

    /// <summary>One request the engine sent; the test answers it (its result is its sequence number).</summary>
    private sealed record Call(long Sequence, long ScheduledNs, TaskCompletionSource<int> Done);

    /// <summary>Records every send and answers at once or when the test says.</summary>
    private sealed class Sender(bool answerAtOnce, Action<Call>? onSend = null) : ILoadSender<int>
    {
        private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();
        private readonly List<Call> _held = [];
        private int _inFlight;
        private int _maxInFlight;
        private int _sent;

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public int Sent => Volatile.Read(ref _sent);

        public Task<int> SendAsync(long sequence, long scheduledNs, CancellationToken cancellationToken)
        {
            var call = new Call(sequence, scheduledNs, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
            Interlocked.Increment(ref _sent);
            int now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }

            _calls.Writer.TryWrite(call);
            onSend?.Invoke(call);
            if (answerAtOnce)
            {
                Interlocked.Decrement(ref _inFlight);
                return Task.FromResult((int)sequence);
            }

            lock (_held)
            {
                _held.Add(call);
            }

            return call.Done.Task;
        }

        public async Task<Call> NextAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(s_patience);

        public bool TryNext(out Call? call) => _calls.Reader.TryRead(out call);

        public void Answer(Call call)
        {
            lock (_held)
            {
                _held.Remove(call);
            }

            Interlocked.Decrement(ref _inFlight);
            call.Done.SetResult((int)call.Sequence);
        }

        public void AnswerAll()
        {
            Call[] held;
            lock (_held)
            {
                held = [.. _held];
            }

            foreach (var call in held)
            {
                Answer(call);
            }
        }
    }
}
