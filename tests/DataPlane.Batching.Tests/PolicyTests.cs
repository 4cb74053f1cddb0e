using DataPlane.Batching.Estimation;
using DataPlane.Batching.Policies;

namespace DataPlane.Batching.Tests;

public class PolicyTests
{
    private const long Ms = 1_000_000;
    private const long T0 = 1_000_000 * Ms;

    /// <summary>An adaptive policy whose estimates are set to a known arrival rate (rows/s) and latency a + b·n.</summary>
    private static AdaptivePolicy Adaptive(double ratePerSecond, double aMs = 5, double bMs = 0.2, double minMs = 1, double maxMs = 5)
    {
        var rate = new ArrivalRate();
        long gap = (long)(1e9 / ratePerSecond);
        for (int i = 0; i <= 64; i++)
        {
            rate.OnArrival(T0 - ((64 - i) * gap), 1);
        }

        return new AdaptivePolicy(rate, new LatencyModel(aMs * Ms, bMs * Ms), TimeSpan.FromMilliseconds(minMs), TimeSpan.FromMilliseconds(maxMs));
    }

    private static BatchContext Context(long queued, int freeSlots = 1, long deadline = long.MaxValue, long inflightEnd = long.MaxValue,
        long window = long.MaxValue, long eligibleSince = T0, long oldest = T0) => new()
        {
            Now = T0,
            QueuedRows = queued,
            MaxRows = 32,
            OldestArrival = oldest,
            EligibleSince = eligibleSince,
            EarliestDeadline = deadline,
            FreeSlots = freeSlots,
            EarliestInflightEnd = inflightEnd,
            WindowEnd = window,
        };

    [Fact]
    public void Light_load_sends_at_once()
    {
        // 20 req/s with a 5 ms fixed cost: 0.1 arrivals per batch latency, nothing to wait for.
        Assert.Equal(T0, Adaptive(20).PlanDispatch(Context(1)));
        Assert.Equal(T0, Adaptive(150).PlanDispatch(Context(1)));
    }

    [Fact]
    public void Middle_load_opens_a_window_sized_to_the_expected_arrivals()
    {
        // 1000 req/s, a = 5 ms: waiting pays up to n* = a·λ − 1 = 4 rows; 3 more arrive in about 3 ms.
        var policy = Adaptive(1000);
        Assert.Equal(4, policy.TargetRows(Context(1), 1000 / 1e9), 3);
        long end = policy.PlanDispatch(Context(1));
        Assert.InRange(end - T0, (long)(2.9 * Ms), (long)(3.1 * Ms));
    }

    [Fact]
    public void Window_is_clamped_to_the_maximum_from_eligibility()
    {
        // 3000 req/s with a very expensive batch would want a long wait; the window caps it.
        var policy = Adaptive(3000, aMs: 50, bMs: 0.01);
        Assert.Equal(T0 + (5 * Ms), policy.PlanDispatch(Context(1)));
        Assert.Equal(T0 + (2 * Ms), policy.PlanDispatch(Context(1, eligibleSince: T0 - (3 * Ms))));
    }

    [Fact]
    public void Target_reached_or_full_batch_sends_at_once()
    {
        var policy = Adaptive(1000);
        Assert.Equal(T0, policy.PlanDispatch(Context(4)));
        Assert.Equal(T0, policy.PlanDispatch(Context(32)));
        Assert.Equal(T0, Adaptive(2500).PlanDispatch(Context(27)));
    }

    [Fact]
    public void Another_free_slot_means_waiting_cannot_help()
    {
        Assert.Equal(0, Adaptive(1000).TargetRows(Context(1, freeSlots: 2), 1000 / 1e9));
        Assert.Equal(T0, Adaptive(1000).PlanDispatch(Context(1, freeSlots: 2)));
    }

    [Fact]
    public void An_inflight_batch_finishing_soon_shrinks_the_target()
    {
        // The other instance frees in 1 ms, so a request that misses this batch waits at most 1 ms.
        var policy = Adaptive(1000);
        Assert.Equal(T0, policy.PlanDispatch(Context(1, inflightEnd: T0 + Ms)));
    }

    [Fact]
    public void Deadline_slack_bounds_the_window_and_forces_dispatch()
    {
        var policy = Adaptive(1000);
        // Earliest deadline 7 ms away and a batch of one takes 5.2 ms: send by 1.8 ms.
        long end = policy.PlanDispatch(Context(1, deadline: T0 + (7 * Ms)));
        Assert.Equal(T0 + (long)(1.8 * Ms), end);
        // Slack already gone: now.
        Assert.Equal(T0, policy.PlanDispatch(Context(1, deadline: T0 + (5 * Ms))));
    }

    [Fact]
    public void An_open_window_is_kept_not_extended()
    {
        var policy = Adaptive(1000);
        Assert.Equal(T0 + Ms, policy.PlanDispatch(Context(2, window: T0 + Ms)));
    }

    [Fact]
    public void Tiny_windows_round_to_zero()
    {
        // a = 4.3 ms at 1000 req/s: target 3.3 rows; with 3 queued the wait would be 0.3 ms, under half the 1 ms minimum.
        Assert.Equal(T0, Adaptive(1000, aMs: 4.3).PlanDispatch(Context(3)));
        // With 2 queued it is 1.3 ms: a real window.
        Assert.Equal(T0 + (long)(1.3 * Ms), Adaptive(1000, aMs: 4.3).PlanDispatch(Context(2)), (double)(0.05 * Ms));
    }

    [Fact]
    public void Fixed_policy_waits_for_the_oldest_request_unless_a_preferred_size_forms()
    {
        var policy = new FixedPolicy(TimeSpan.FromMilliseconds(5), []);
        Assert.Equal(T0 + (3 * Ms), policy.PlanDispatch(Context(3, oldest: T0 - (2 * Ms))));
        Assert.Equal(T0, policy.PlanDispatch(Context(32)));

        var preferred = new FixedPolicy(TimeSpan.FromMilliseconds(5), [4, 8]);
        Assert.Equal(T0, preferred.PlanDispatch(Context(4)));
        Assert.Equal(T0 + (5 * Ms), preferred.PlanDispatch(Context(5)));
        Assert.Equal(T0, preferred.PlanDispatch(Context(9)));

        var opportunistic = new FixedPolicy(TimeSpan.Zero, []);
        Assert.Equal(T0, opportunistic.PlanDispatch(Context(1)));
    }

    [Fact]
    public void Pass_through_always_sends_now() => Assert.Equal(T0, PassThroughPolicy.Instance.PlanDispatch(Context(1)));
}
