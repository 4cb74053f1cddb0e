using DataPlane.Batching.Queueing;
using DataPlane.Protocol.Inference;
using static DataPlane.Batching.Tests.Support;

namespace DataPlane.Batching.Tests;

public class QueueTests
{
    private static PendingRequest Fp32(long rows, int level = 0, long arrival = 0, long deadline = long.MaxValue, int width = 4) =>
        Pending(Request("m", "FP32", [rows, width], new byte[rows * width * 4]), level, arrival, deadline);

    [Fact]
    public void A_spill_batch_leaves_requests_from_peers_queued_and_takes_nothing_when_one_is_at_the_head()
    {
        var q = new RequestQueue(1);
        var local1 = Fp32(1, arrival: 1);
        var peer = Pending(Request("m", "FP32", [4, 4], new byte[4 * 4 * 4]), arrival: 2, fromPeer: true);
        var local2 = Fp32(1, arrival: 3);
        q.Enqueue(local1);
        q.Enqueue(peer);
        q.Enqueue(local2);

        var spill = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, spill, localOnly: true);

        Assert.Equal([local1, local2], spill);
        Assert.Same(peer, q.Head);
        Assert.Equal(0, q.TakeBatch(32, int.MaxValue, true, spill, localOnly: true));
        var local = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, local);
        Assert.Equal([peer], local); // this host runs it itself
    }

    [Fact]
    public void Requeued_requests_return_to_the_front_in_their_order_and_are_no_longer_spillable()
    {
        var q = new RequestQueue(1);
        var a = Fp32(1, arrival: 1);
        var b = Fp32(1, arrival: 2);
        var c = Fp32(1, arrival: 3);
        q.Enqueue(a);
        q.Enqueue(b);
        var taken = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, taken, localOnly: true);
        q.Enqueue(c);
        taken.ForEach(r => r.SpillFailed = true);

        q.Requeue(taken);

        Assert.Equal(3, q.Count);
        Assert.Equal(1, q.OldestArrival);
        Assert.Equal(0, q.TakeBatch(32, int.MaxValue, true, [], localOnly: true)); // the head came back from a failed spill
        var local = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, local);
        Assert.Equal([a, b, c], local);
    }

    [Fact]
    public void Higher_priority_is_served_first_and_fifo_within_a_level()
    {
        var q = new RequestQueue(2);
        var low1 = Fp32(1, level: 1, arrival: 1);
        var high = Fp32(1, level: 0, arrival: 2);
        var low2 = Fp32(1, level: 1, arrival: 3);
        q.Enqueue(low1);
        q.Enqueue(high);
        q.Enqueue(low2);
        Assert.Same(high, q.Head);
        Assert.Equal(1, q.OldestArrival);

        var batch = new List<PendingRequest>();
        q.TakeBatch(2, int.MaxValue, true, batch);
        Assert.Equal([high, low1], batch);
        Assert.Same(low2, q.Head);
        Assert.Equal(1, q.Count);
    }

    [Fact]
    public void Only_compatible_requests_share_a_batch_and_the_rest_keep_their_order()
    {
        var q = new RequestQueue(1);
        var a = Fp32(2);
        var wide = Fp32(1, width: 8);
        var b = Fp32(3);
        var c = Fp32(1, width: 8);
        foreach (var r in new[] { a, wide, b, c })
        {
            q.Enqueue(r);
        }

        var batch = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, batch);
        Assert.Equal([a, b], batch);
        Assert.Equal(2, q.Count);
        Assert.Equal(2, q.Rows);
        batch.Clear();
        q.TakeBatch(32, int.MaxValue, true, batch);
        Assert.Equal([wide, c], batch);
    }

    [Fact]
    public void Batches_never_exceed_max_rows_or_max_requests()
    {
        var q = new RequestQueue(1);
        var big = Fp32(20);
        var other = Fp32(20);
        var small = Fp32(10);
        q.Enqueue(big);
        q.Enqueue(other);
        q.Enqueue(small);
        var batch = new List<PendingRequest>();
        q.TakeBatch(32, int.MaxValue, true, batch);
        Assert.Equal([big, small], batch);

        batch.Clear();
        q.Enqueue(Fp32(1));
        q.TakeBatch(32, 1, true, batch);
        Assert.Equal([other], batch);
    }

    [Fact]
    public void Removal_from_the_middle_and_deadline_tracking()
    {
        var q = new RequestQueue(1);
        var a = Fp32(1, deadline: 300);
        var b = Fp32(1, deadline: 100);
        var c = Fp32(1, deadline: 200);
        q.Enqueue(a);
        q.Enqueue(b);
        q.Enqueue(c);
        Assert.Equal(100, q.EarliestDeadline);
        Assert.True(q.Remove(b));
        Assert.False(q.Remove(b));
        Assert.Equal(200, q.EarliestDeadline);

        var expired = new List<PendingRequest>();
        q.RemoveExpired(250, expired);
        Assert.Equal([c], expired);
        Assert.Equal(300, q.EarliestDeadline);
        Assert.Same(a, q.Head);
        q.RemoveAll(expired);
        Assert.Equal(0, q.Count);
        Assert.Equal(long.MaxValue, q.EarliestDeadline);
    }

    [Fact]
    public void Signature_ignores_scheduling_parameters_but_not_others()
    {
        var a = Request("m", "FP32", [1, 4], new byte[16]);
        var b = Request("m", "FP32", [3, 4], new byte[48]);
        b.Parameters["priority"] = new InferParameter { Int64Param = 1 };
        b.Parameters["timeout"] = new InferParameter { Int64Param = 1000 };
        Assert.Equal(BatchSignature.Compute(a, true), BatchSignature.Compute(b, true));
        Assert.True(BatchSignature.Compatible(a, b, true));
        Assert.False(BatchSignature.Compatible(a, b, false));

        var c = a.Clone();
        c.Parameters["temperature"] = new InferParameter { DoubleParam = 0.5 };
        Assert.NotEqual(BatchSignature.Compute(a, true), BatchSignature.Compute(c, true));
        Assert.False(BatchSignature.Compatible(a, c, true));

        var d = a.Clone();
        d.Inputs[0].Datatype = "INT32";
        Assert.False(BatchSignature.Compatible(a, d, true));

        var e = a.Clone();
        e.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" });
        Assert.NotEqual(BatchSignature.Compute(a, true), BatchSignature.Compute(e, true));
    }
}
