using DataPlane.Interop.Verbs;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests.Verbs;

/// <summary>Queue pairs, memory regions and the data path (through the ops table) against the fake's RC semantics.</summary>
[Collection(FakeVerbs.Collection)]
public class VerbsDataPathTests
{
    [Fact]
    public void Walks_RESET_INIT_RTR_RTS_and_reports_the_state()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(connect: false);
        Assert.Equal(QueuePairState.Reset, rig.QpA.QueryState());
        Assert.NotEqual(rig.QpA.QpNumber, rig.QpB.QpNumber);
        Assert.InRange(rig.QpA.QpNumber, 16u, 0xFFFFFFu);
        Assert.True(rig.QpA.Capabilities.MaxSendWr >= 32);

        rig.QpA.ToInit(1, MemoryAccess.RemoteWrite);
        Assert.Equal(QueuePairState.Init, rig.QpA.QueryState());
        rig.QpA.ToRtr(new RtrParameters(rig.QpB.QpNumber, 7, rig.Gid, VerbsRig.RoceV2GidIndex));
        Assert.Equal(QueuePairState.ReadyToReceive, rig.QpA.QueryState());
        rig.QpA.ToRts(9);
        Assert.Equal(QueuePairState.ReadyToSend, rig.QpA.QueryState());
        rig.QpA.ToError();
        Assert.Equal(QueuePairState.Error, rig.QpA.QueryState());
        rig.QpA.Reset();
        Assert.Equal(QueuePairState.Reset, rig.QpA.QueryState());
    }

    [Fact]
    public void Invalid_transitions_fail_with_EINVAL_naming_the_verb()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(connect: false);
        // RTS straight from RESET is not a transition.
        var e = Assert.Throws<VerbsException>(() => rig.QpA.ToRts(1));
        Assert.Equal("ibv_modify_qp", e.Verb);
        Assert.Equal("EINVAL", e.ErrnoName);
        Assert.Contains("RTR→RTS", e.Message, StringComparison.Ordinal);

        rig.QpA.ToInit(1, MemoryAccess.RemoteWrite);
        // The empty slot of the GID table cannot be a source GID; nor can a path MTU above the port's.
        e = Assert.Throws<VerbsException>(() => rig.QpA.ToRtr(new RtrParameters(rig.QpB.QpNumber, 0, rig.Gid, 3)));
        Assert.Equal("EINVAL", e.ErrnoName);
        using var small = FakeVerbs.Use("fake_mlx5_0:netdev=lo:ip=127.0.0.1:mtu=1024");
        using var rig2 = new VerbsRig(connect: false);
        rig2.QpA.ToInit(1, MemoryAccess.RemoteWrite);
        e = Assert.Throws<VerbsException>(() => rig2.QpA.ToRtr(new RtrParameters(rig2.QpB.QpNumber, 0, rig2.Gid, 2) { Mtu = Mtu.Mtu4096 }));
        Assert.Equal("EINVAL", e.ErrnoName);
    }

    [Fact]
    public void RDMA_write_and_read_move_bytes_between_regions()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        for (int i = 0; i < 4096; i++)
        {
            rig.A[i] = (byte)(i * 31);
            rig.B[8192 + i] = (byte)(255 - (i % 251));
        }

        Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 4096), rig.MrB.Address + 100, rig.MrB.Rkey));
        var write = Assert.Single(VerbsRig.Wait(rig.CqA, 1));
        Assert.Equal(WorkCompletionStatus.Success, write.Status);
        Assert.Equal(WorkCompletionOpcode.RdmaWrite, write.Opcode);
        Assert.Equal(1ul, write.WorkRequestId);
        Assert.Equal(rig.QpA.QpNumber, write.QpNumber);
        Assert.True(rig.A[..4096].SequenceEqual(rig.B.Slice(100, 4096)));
        Assert.Equal(0, rig.B[99]);
        Assert.Equal(0, rig.B[4196]);

        Assert.True(rig.QpA.PostRead(2, rig.MrA.Slice(20000, 4096), rig.MrB.Address + 8192, rig.MrB.Rkey));
        var read = Assert.Single(VerbsRig.Wait(rig.CqA, 1));
        Assert.True(read.IsSuccess, read.StatusName);
        Assert.Equal(WorkCompletionOpcode.RdmaRead, read.Opcode);
        Assert.Equal(4096u, read.ByteLength);
        Assert.True(rig.B.Slice(8192, 4096).SequenceEqual(rig.A.Slice(20000, 4096)));

        // One-sided: the responder sees no completions.
        VerbsRig.AssertEmpty(rig.CqB);
    }

    [Fact]
    public void Large_writes_span_many_MTUs_and_keep_the_PSNs_in_step()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Random.Shared.NextBytes(rig.A);
        for (ulong i = 0; i < 4; i++)
        {
            Assert.True(rig.QpA.PostWrite(i, rig.MrA.Slice(0, VerbsRig.BufferSize), rig.MrB.Address, rig.MrB.Rkey));
        }

        Assert.All(VerbsRig.Wait(rig.CqA, 4), c => Assert.True(c.IsSuccess, c.StatusName));
        Assert.True(rig.A.SequenceEqual(rig.B));
    }

    [Fact]
    public void Send_lands_in_the_posted_receive_with_immediate_and_source()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Assert.True(rig.QpB.PostRecv(70, rig.MrB.Slice(1000, 256)));
        "hello, receiver"u8.CopyTo(rig.A);
        Assert.True(rig.QpA.PostSend(new SendRequest(5, SendOpcode.SendWithImmediate, rig.MrA.Slice(0, 15)) { Immediate = 0xC0FFEE }));

        var sent = Assert.Single(VerbsRig.Wait(rig.CqA, 1));
        Assert.Equal(WorkCompletionOpcode.Send, sent.Opcode);
        Assert.True(sent.IsSuccess);
        var received = Assert.Single(VerbsRig.Wait(rig.CqB, 1));
        Assert.Equal(70ul, received.WorkRequestId);
        Assert.Equal(WorkCompletionOpcode.Receive, received.Opcode);
        Assert.Equal(15u, received.ByteLength);
        Assert.True(received.HasImmediate);
        Assert.Equal(0xC0FFEEu, received.Immediate);
        Assert.Equal(rig.QpA.QpNumber, received.SourceQp);
        Assert.Equal(rig.QpB.QpNumber, received.QpNumber);
        Assert.True("hello, receiver"u8.SequenceEqual(rig.B.Slice(1000, 15)));
    }

    [Fact]
    public void Write_with_immediate_consumes_a_receive()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Assert.True(rig.QpB.PostRecv(71, default));
        rig.A[0] = 42;
        var request = new SendRequest(6, SendOpcode.RdmaWriteWithImmediate, rig.MrA.Slice(0, 64), rig.MrB.Address + 512, rig.MrB.Rkey) { Immediate = 7 };
        Assert.True(rig.QpA.PostSend(request));
        Assert.True(Assert.Single(VerbsRig.Wait(rig.CqA, 1)).IsSuccess);
        var received = Assert.Single(VerbsRig.Wait(rig.CqB, 1));
        Assert.Equal(WorkCompletionOpcode.ReceiveRdmaWithImmediate, received.Opcode);
        Assert.Equal(7u, received.Immediate);
        Assert.Equal(64u, received.ByteLength);
        Assert.Equal(42, rig.B[512]);
    }

    [Fact]
    public void A_chain_executes_in_order_and_only_signalled_requests_complete()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        for (int i = 0; i < 20; i++)
        {
            rig.A[i * 100] = (byte)(i + 1);
        }

        // 20 requests: more than the stack batch; every fifth is signalled.
        var chain = new SendRequest[20];
        for (int i = 0; i < chain.Length; i++)
        {
            chain[i] = SendRequest.Write((ulong)i, rig.MrA.Slice((ulong)i * 100, 100), rig.MrB.Address + ((ulong)i * 100), rig.MrB.Rkey, signaled: i % 5 == 4);
        }

        Assert.Equal(20, rig.QpA.Post(chain));
        var done = VerbsRig.Wait(rig.CqA, 4);
        Assert.Equal([4ul, 9ul, 14ul, 19ul], done.Select(c => c.WorkRequestId));
        VerbsRig.AssertEmpty(rig.CqA);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal((byte)(i + 1), rig.B[i * 100]);
        }

        // A chain of receives, then sends that use them in order.
        ReceiveRequest[] receives = [new(100, rig.MrB.Slice(30000, 8)), new(101, rig.MrB.Slice(30008, 8))];
        Assert.Equal(2, rig.QpB.PostRecv(receives));
        Assert.Equal(2, rig.QpA.Post([SendRequest.Send(200, rig.MrA.Slice(0, 1)), SendRequest.Send(201, rig.MrA.Slice(100, 1))]));
        Assert.Equal([100ul, 101ul], VerbsRig.Wait(rig.CqB, 2).Select(c => c.WorkRequestId));
        Assert.Equal([200ul, 201ul], VerbsRig.Wait(rig.CqA, 2).Select(c => c.WorkRequestId));
        Assert.Equal(1, rig.B[30000]);
        Assert.Equal(2, rig.B[30008]);
    }

    [Fact]
    public void A_bad_rkey_is_a_remote_access_error_then_everything_flushes()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Assert.True(rig.QpA.PostRecv(900, rig.MrA.Slice(60000, 16)));
        Assert.Equal(3, rig.QpA.Post([
            SendRequest.Write(1, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey ^ 0x100),
            SendRequest.Write(2, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey),
            SendRequest.Write(3, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey, signaled: false),
        ]));

        var completions = VerbsRig.Wait(rig.CqA, 4);
        Assert.Equal(WorkCompletionStatus.RemoteAccessError, completions[0].Status);
        Assert.Equal("IBV_WC_REM_ACCESS_ERR", completions[0].StatusName);
        Assert.Equal(1ul, completions[0].WorkRequestId);
        // The receive and the later requests (unsignalled too) flush; their order across queues is not fixed.
        Assert.All(completions[1..], c => Assert.Equal(WorkCompletionStatus.WorkRequestFlushError, c.Status));
        Assert.Equal([2ul, 3ul, 900ul], completions[1..].Select(c => c.WorkRequestId).Order());
        Assert.Equal(QueuePairState.Error, rig.QpA.QueryState());

        // Posting in the error state is accepted and flushed at once.
        Assert.True(rig.QpA.PostWrite(4, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
        Assert.Equal(WorkCompletionStatus.WorkRequestFlushError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);
        Assert.Equal(0, rig.B[0]);
    }

    [Fact]
    public void Out_of_range_and_rights_are_enforced_on_both_ends()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        using var readOnly = rig.Pd.Register(GC.AllocateArray<byte>(4096, pinned: true), MemoryAccess.RemoteRead);

        // Past the end of the peer's region.
        Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 64), rig.MrB.Address + VerbsRig.BufferSize - 32, rig.MrB.Rkey));
        Assert.Equal(WorkCompletionStatus.RemoteAccessError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);

        rig.QpA.Reset();
        rig.QpB.Reset();
        rig.Connect();
        // A region without remote write.
        Assert.True(rig.QpA.PostWrite(2, rig.MrA.Slice(0, 64), readOnly.Address, readOnly.Rkey));
        Assert.Equal(WorkCompletionStatus.RemoteAccessError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);

        rig.QpA.Reset();
        rig.QpB.Reset();
        rig.Connect();
        // A READ into a local region without local write is a local protection error.
        Assert.True(rig.QpA.PostRead(3, readOnly.Slice(0, 64), rig.MrB.Address, rig.MrB.Rkey));
        Assert.Equal(WorkCompletionStatus.LocalProtectionError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);

        rig.QpA.Reset();
        rig.QpB.Reset();
        rig.Connect();
        // After reset and a new handshake the pair works again.
        rig.A[0] = 9;
        Assert.True(rig.QpA.PostWrite(4, rig.MrA.Slice(0, 1), rig.MrB.Address, rig.MrB.Rkey));
        Assert.True(Assert.Single(VerbsRig.Wait(rig.CqA, 1)).IsSuccess);
        Assert.Equal(9, rig.B[0]);
    }

    [Fact]
    public void A_send_without_a_posted_receive_ends_in_an_RNR_error()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(rnrRetry: 1);
        Assert.True(rig.QpA.PostSend(1, rig.MrA.Slice(0, 4)));
        Assert.Equal(WorkCompletionStatus.RnrRetryExceededError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);
        Assert.Equal(QueuePairState.Error, rig.QpA.QueryState());
    }

    [Fact]
    public void A_receive_that_is_too_small_fails_both_ends()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Assert.True(rig.QpB.PostRecv(1, rig.MrB.Slice(0, 4)));
        Assert.True(rig.QpA.PostSend(2, rig.MrA.Slice(0, 8)));
        Assert.Equal(WorkCompletionStatus.RemoteInvalidRequestError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);
        Assert.Equal(WorkCompletionStatus.LocalLengthError, Assert.Single(VerbsRig.Wait(rig.CqB, 1)).Status);
    }

    [Fact]
    public void Mismatched_PSNs_or_GIDs_end_in_retry_errors()
    {
        using var scope = FakeVerbs.Use();
        using (var rig = new VerbsRig(connect: false))
        {
            // A's first PSN is not what B expects (B was told 0x1234, A starts at 0x9999).
            var rights = MemoryAccess.RemoteWrite;
            rig.QpA.ToInit(1, rights);
            rig.QpB.ToInit(1, rights);
            rig.QpA.ToRtr(new RtrParameters(rig.QpB.QpNumber, 5, rig.Gid, 2));
            rig.QpB.ToRtr(new RtrParameters(rig.QpA.QpNumber, 0x1234, rig.Gid, 2));
            rig.QpA.ToRts(0x9999, timeout: 8, retryCount: 1);
            rig.QpB.ToRts(5);
            Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
            Assert.Equal(WorkCompletionStatus.RetryExceededError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);
        }

        using (var rig = new VerbsRig(connect: false))
        {
            // A addresses a GID the device does not have.
            rig.QpA.ToInit(1, MemoryAccess.RemoteWrite);
            rig.QpB.ToInit(1, MemoryAccess.RemoteWrite);
            rig.QpA.ToRtr(new RtrParameters(rig.QpB.QpNumber, 5, VerbsGid.Parse("10.9.9.9"), 2));
            rig.QpB.ToRtr(new RtrParameters(rig.QpA.QpNumber, 5, rig.Gid, 2));
            rig.QpA.ToRts(5, timeout: 8, retryCount: 1);
            rig.QpB.ToRts(5);
            Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
            Assert.Equal(WorkCompletionStatus.RetryExceededError, Assert.Single(VerbsRig.Wait(rig.CqA, 1)).Status);
        }
    }

    [Fact]
    public void Posting_before_RTS_is_EINVAL_from_the_provider()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(connect: false);
        var e = Assert.Throws<VerbsException>(() => rig.QpA.PostWrite(1, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
        Assert.Equal("ibv_post_send", e.Verb);
        Assert.Equal("EINVAL", e.ErrnoName);
        e = Assert.Throws<VerbsException>(() => rig.QpB.PostRecv(1, rig.MrB.Slice(0, 8)));
        Assert.Equal("ibv_post_recv", e.Verb);

        rig.QpA.ToInit(1, MemoryAccess.RemoteWrite);
        Assert.True(rig.QpA.PostRecv(1, rig.MrA.Slice(0, 8))); // receives are fine from INIT
        Assert.Throws<VerbsException>(() => rig.QpA.PostSend(2, rig.MrA.Slice(0, 8)));
        VerbsRig.AssertEmpty(rig.CqA);
    }

    [Fact]
    public void A_full_send_queue_is_a_return_value()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(rnrRetry: 7);
        // SENDs wait at the peer for receives (RNR retry forever), so they stay outstanding.
        var sends = Enumerable.Range(0, rig.QpA.Capabilities.MaxSendWr + 5)
            .Select(i => SendRequest.Send((ulong)i, rig.MrA.Slice(0, 1)))
            .ToArray();
        Assert.Equal(rig.QpA.Capabilities.MaxSendWr, rig.QpA.Post(sends));
        Assert.False(rig.QpA.PostSend(999, rig.MrA.Slice(0, 1)));

        var receives = Enumerable.Range(0, rig.QpA.Capabilities.MaxSendWr).Select(i => new ReceiveRequest((ulong)i, rig.MrB.Slice((ulong)i, 1))).ToArray();
        Assert.Equal(receives.Length, rig.QpB.PostRecv(receives));
        Assert.All(VerbsRig.Wait(rig.CqA, rig.QpA.Capabilities.MaxSendWr), c => Assert.True(c.IsSuccess, c.StatusName));
    }

    [Fact]
    public void An_injected_failure_hits_the_nth_data_request()
    {
        using var scope = FakeVerbs.Use(failWr: 3);
        using var rig = new VerbsRig();
        for (ulong i = 1; i <= 3; i++)
        {
            Assert.True(rig.QpA.PostWrite(i, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
        }

        var c = VerbsRig.Wait(rig.CqA, 3);
        Assert.Equal(
            [WorkCompletionStatus.Success, WorkCompletionStatus.Success, WorkCompletionStatus.RemoteAccessError],
            c.Select(x => x.Status));
        Assert.Equal(3ul, c[2].WorkRequestId);
    }

    [Fact]
    public void The_completion_channel_wakes_when_an_armed_queue_completes()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig();
        Assert.True(rig.Channel.FileDescriptor >= 0);
        rig.CqA.RequestNotify();
        rig.CqB.RequestNotify();
        Assert.False(rig.Channel.WaitForEvent(TimeSpan.FromMilliseconds(20), out _));

        Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
        Assert.True(rig.Channel.WaitForEvent(TimeSpan.FromSeconds(20), out var cq));
        Assert.Same(rig.CqA, cq);
        Assert.Single(VerbsRig.Wait(rig.CqA, 1));

        // One event per arming: the next completion is silent until the queue is armed again.
        Assert.True(rig.QpA.PostWrite(2, rig.MrA.Slice(0, 8), rig.MrB.Address, rig.MrB.Rkey));
        Assert.Single(VerbsRig.Wait(rig.CqA, 1));
        Assert.False(rig.Channel.WaitForEvent(TimeSpan.FromMilliseconds(20), out _));

        // A receive completing on the other queue wakes the same channel, naming that queue.
        Assert.True(rig.QpB.PostRecv(3, rig.MrB.Slice(0, 8)));
        Assert.True(rig.QpA.PostSend(4, rig.MrA.Slice(0, 8)));
        Assert.True(rig.Channel.WaitForEvent(TimeSpan.FromSeconds(20), out cq));
        Assert.Same(rig.CqB, cq);
    }

    [Fact]
    public void Objects_may_be_disposed_in_any_order()
    {
        using var scope = FakeVerbs.Use();
        var rig = new VerbsRig();
        // Parents first: nothing is destroyed until the last child goes, so no verb fails with EBUSY.
        rig.Context.Dispose();
        rig.Pd.Dispose();
        rig.CqA.Dispose();
        rig.Channel.Dispose();

        // Children still work.
        rig.A[0] = 5;
        Assert.True(rig.QpA.PostWrite(1, rig.MrA.Slice(0, 1), rig.MrB.Address, rig.MrB.Rkey));
        Assert.True(Assert.Single(VerbsRig.Wait(rig.CqA, 1)).IsSuccess);
        Assert.Equal(5, rig.B[0]);

        rig.MrA.Dispose();
        rig.QpB.Dispose();
        rig.QpA.Dispose();
        rig.CqB.Dispose();
        rig.MrB.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rig.QpA.PostWrite(2, default, 0, 0));

        // The fake refuses to close a device with live children, so a new rig proves everything was released in order.
        rig.Dispose();
        using var again = new VerbsRig();
        Assert.NotNull(again.Context.QueryDevice());
    }

    [Fact]
    public void Registration_rules_come_back_as_typed_errors()
    {
        using var scope = FakeVerbs.Use();
        using var rig = new VerbsRig(connect: false);
        var e = Assert.Throws<VerbsException>(() => rig.Pd.Register(new byte[16], MemoryAccess.RemoteWrite));
        Assert.Equal("ibv_reg_mr_iova2", e.Verb);
        Assert.Equal("EINVAL", e.ErrnoName);

        using var relaxed = rig.Pd.Register(new byte[16], MemoryAccess.LocalWrite | MemoryAccess.RelaxedOrdering);
        Assert.Equal(16ul, relaxed.Length);
        Assert.NotEqual(relaxed.Lkey, relaxed.Rkey);
        Assert.Throws<ArgumentOutOfRangeException>(() => relaxed.Slice(8, 9));
    }
}
