using DataPlane.Edge.Serving;
using DataPlane.Hosting.Metrics;

namespace DataPlane.Edge.Tests.Serving;

public class LocalCapacityTests
{
    private static (LocalCapacity Capacity, TimerClock Clock, EdgeMetrics Metrics) Create(int parallelism = 2, int queue = 4, bool configured = true)
    {
        var clock = new TimerClock();
        var metrics = new EdgeMetrics(new MetricRegistry());
        var options = configured
            ? new LocalCapacityOptions { Parallelism = parallelism, QueueLength = queue }
            : new LocalCapacityOptions { DefaultParallelism = parallelism, QueueLength = queue };
        return (new LocalCapacity(options, clock, metrics), clock, metrics);
    }

    [Fact]
    public void Slots_are_given_up_to_the_capacity_and_released_once()
    {
        var (capacity, _, metrics) = Create(parallelism: 2);
        Assert.True(capacity.TryAcquire(out var a));
        Assert.True(capacity.TryAcquire(out var b));
        Assert.False(capacity.TryAcquire(out var none));
        Assert.Null(none);
        Assert.True(capacity.IsFull);
        Assert.Equal(2, metrics.LocalInFlight.WithLabels().Value);
        Assert.Equal(2, metrics.LocalCapacity.WithLabels().Value);

        a!.Dispose();
        a.Dispose();
        Assert.Equal(1, capacity.InFlight);
        Assert.Equal(1, capacity.Released);
        Assert.False(capacity.IsFull);
        b!.Dispose();
        Assert.Equal(0, capacity.InFlight);
        Assert.Equal(2, capacity.Acquired);
        Assert.Equal(2, capacity.Released);
        Assert.Equal(0, metrics.LocalInFlight.WithLabels().Value);
    }

    [Fact]
    public async Task A_released_slot_goes_to_the_longest_waiting_request()
    {
        var (capacity, _, metrics) = Create(parallelism: 1);
        Assert.True(capacity.TryAcquire(out var held));
        var first = capacity.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        var second = capacity.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(2, capacity.Queued);
        Assert.Equal(2, metrics.LocalQueueDepth.WithLabels().Value);
        Assert.False(first.IsCompleted);

        held!.Dispose();
        var one = await first;
        Assert.NotNull(one.Slot);
        Assert.False(second.IsCompleted);
        Assert.Equal(1, capacity.Queued);
        // A newcomer does not overtake the queue.
        Assert.False(capacity.TryAcquire(out _));

        one.Slot!.Dispose();
        var two = await second;
        Assert.NotNull(two.Slot);
        two.Slot!.Dispose();
        Assert.Equal(0, capacity.InFlight);
        Assert.Equal(0, capacity.Queued);
        Assert.Equal(2, metrics.LocalQueueWait.WithLabels().Count);
    }

    [Fact]
    public async Task A_full_queue_is_refused_at_once()
    {
        var (capacity, _, metrics) = Create(parallelism: 1, queue: 1);
        Assert.True(capacity.TryAcquire(out var held));
        var waiting = capacity.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        var refused = await capacity.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Null(refused.Slot);
        Assert.Equal(LocalRefusal.QueueFull, refused.Refusal);
        // No estimate yet (nothing completed): the budget it was allowed.
        Assert.Equal(TimeSpan.FromSeconds(5), refused.RetryAfter);
        Assert.Equal(1, metrics.LocalRefused.WithLabels("queue_full").Value);
        held!.Dispose();
        (await waiting).Slot!.Dispose();
    }

    [Fact]
    public async Task A_waiter_whose_budget_runs_out_is_refused_and_leaves_the_queue()
    {
        var (capacity, clock, metrics) = Create(parallelism: 1);
        Assert.True(capacity.TryAcquire(out var held));
        var waiting = capacity.WaitAsync(TimeSpan.FromMilliseconds(800), CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(799));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await waiting;
        Assert.Null(result.Slot);
        Assert.Equal(LocalRefusal.Slo, result.Refusal);
        Assert.Equal(0, capacity.Queued);
        Assert.Equal(1, metrics.LocalRefused.WithLabels("slo").Value);

        // The slot freed later is not handed to the request that left.
        held!.Dispose();
        Assert.Equal(0, capacity.InFlight);
    }

    [Fact]
    public async Task No_budget_means_no_waiting()
    {
        var (capacity, _, _) = Create(parallelism: 1);
        Assert.True(capacity.TryAcquire(out var held));
        var result = await capacity.WaitAsync(TimeSpan.FromMilliseconds(-5), CancellationToken.None);
        Assert.Equal(LocalRefusal.Slo, result.Refusal);
        Assert.Equal(TimeSpan.FromSeconds(1), result.RetryAfter);
        Assert.Equal(0, capacity.Queued);
        held!.Dispose();
    }

    [Fact]
    public async Task A_wait_the_estimate_says_is_too_long_is_refused_at_once_with_that_estimate()
    {
        var (capacity, clock, _) = Create(parallelism: 2);
        // One generation ran to its end in 4 s: the mean hold.
        Assert.True(capacity.TryAcquire(out var measured));
        clock.Advance(TimeSpan.FromSeconds(4));
        measured!.Completed = true;
        measured.Dispose();
        Assert.Equal(TimeSpan.FromSeconds(4), capacity.MeanHold);

        Assert.True(capacity.TryAcquire(out var a));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(capacity.TryAcquire(out var b));
        clock.Advance(TimeSpan.FromSeconds(0.5));
        // a frees in 2.5 s, b in 3.5 s; the next queued gets a's slot, the one after b's, then a's again after 4 s more.
        Assert.Equal(TimeSpan.FromSeconds(2.5), capacity.EstimateWait(0));
        Assert.Equal(TimeSpan.FromSeconds(3.5), capacity.EstimateWait(1));
        Assert.Equal(TimeSpan.FromSeconds(6.5), capacity.EstimateWait(2));

        var refused = await capacity.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(LocalRefusal.Slo, refused.Refusal);
        Assert.Equal(TimeSpan.FromSeconds(2.5), refused.RetryAfter);
        Assert.Equal(0, capacity.Queued);

        var admitted = capacity.WaitAsync(TimeSpan.FromSeconds(3), CancellationToken.None);
        Assert.Equal(1, capacity.Queued);
        a!.Dispose();
        var got = await admitted;
        Assert.NotNull(got.Slot);
        got.Slot!.Dispose();
        b!.Dispose();
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue()
    {
        var (capacity, _, _) = Create(parallelism: 1);
        Assert.True(capacity.TryAcquire(out var held));
        using var cts = new CancellationTokenSource();
        var waiting = capacity.WaitAsync(TimeSpan.FromSeconds(5), cts.Token);
        Assert.Equal(1, capacity.Queued);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, capacity.Queued);
        held!.Dispose();
        Assert.Equal(0, capacity.InFlight);
    }

    [Fact]
    public async Task A_reported_capacity_replaces_the_default_and_serves_waiters_but_not_a_configured_one()
    {
        var (learned, _, metrics) = Create(parallelism: 1, configured: false);
        Assert.Equal("default", learned.Source);
        Assert.True(learned.TryAcquire(out var held));
        var waiting = learned.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(learned.Report(3));
        Assert.Equal("reported", learned.Source);
        var got = await waiting;
        Assert.NotNull(got.Slot);
        Assert.Equal(3, metrics.LocalCapacity.WithLabels().Value);
        Assert.False(learned.Report(null));
        Assert.False(learned.Report(0));
        Assert.Equal(3, learned.Capacity);
        got.Slot!.Dispose();
        held!.Dispose();

        var (configured, _, _) = Create(parallelism: 2, configured: true);
        Assert.False(configured.Report(8));
        Assert.Equal(2, configured.Capacity);
        Assert.Equal("configured", configured.Source);
    }

    [Fact]
    public void Bad_options_are_named()
    {
        Assert.Contains("Parallelism", Assert.Throws<ArgumentException>(() => new LocalCapacity(new LocalCapacityOptions { Parallelism = 0 })).Message);
        Assert.Contains("QueueLength", Assert.Throws<ArgumentException>(() => new LocalCapacity(new LocalCapacityOptions { QueueLength = -1 })).Message);
    }
}
