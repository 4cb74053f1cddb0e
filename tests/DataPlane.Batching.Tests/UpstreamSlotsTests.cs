using DataPlane.Batching.Batching;

namespace DataPlane.Batching.Tests;

public class UpstreamSlotsTests
{
    private static double Latency(long rows) => 5_000_000 + (200_000 * rows);

    [Fact]
    public void Batches_beyond_the_instances_wait_and_start_in_order()
    {
        var slots = new UpstreamSlots(instances: 1, depth: 1);
        Assert.Equal(2, slots.Capacity);
        int a = slots.Send(0, 10, Latency);
        Assert.Equal(1, slots.Executing);
        Assert.False(slots.HasFreeInstance);
        Assert.Equal(7_000_000, slots.EarliestExecutingEnd);
        Assert.Equal(7_000_000, slots.NextStart(1_000_000, Latency));

        int b = slots.Send(6_000_000, 20, Latency);
        Assert.False(slots.CanSend);
        Assert.Equal(1, slots.Executing);

        // a completes at 7.2 ms after 7.2 ms of service; b starts then.
        Assert.Equal(7_200_000, slots.Complete(a, 7_200_000, Latency));
        Assert.Equal(1, slots.Executing);
        Assert.Equal(7_200_000 + 9_000_000, slots.EarliestExecutingEnd);

        // b's service time counts from its start, not from when it was sent.
        Assert.Equal(9_100_000, slots.Complete(b, 16_300_000, Latency));
        Assert.Equal(0, slots.InFlight);
        Assert.True(slots.HasFreeInstance);
    }

    [Fact]
    public void Next_start_accounts_for_batches_already_waiting()
    {
        var slots = new UpstreamSlots(instances: 2, depth: 2);
        slots.Send(0, 0, Latency);          // ends at 5 ms
        slots.Send(1_000_000, 10, Latency);  // ends at 8 ms
        Assert.Equal(5_000_000, slots.NextStart(2_000_000, Latency));
        slots.Send(2_000_000, 0, Latency);  // waits: starts at 5, ends at 10
        Assert.Equal(8_000_000, slots.NextStart(2_000_000, Latency));
        slots.Send(2_000_000, 0, Latency);  // waits: starts at 8
        Assert.False(slots.CanSend);
    }

    [Fact]
    public void Without_depth_only_the_instances_may_be_in_flight()
    {
        var slots = new UpstreamSlots(instances: 2, depth: 0);
        slots.Send(0, 1, Latency);
        slots.Send(0, 1, Latency);
        Assert.False(slots.CanSend);
    }

    [Fact]
    public void A_waiting_batch_that_fails_frees_no_instance()
    {
        var slots = new UpstreamSlots(instances: 1, depth: 1);
        int a = slots.Send(0, 1, Latency);
        int b = slots.Send(1, 1, Latency);
        Assert.Equal(0, slots.Complete(b, 2, Latency));
        Assert.Equal(1, slots.Executing);
        Assert.True(slots.Complete(a, 5_300_000, Latency) > 0);
        Assert.Equal(0, slots.Executing);
    }
}
