using System.Runtime.InteropServices;

namespace DataPlane.Interop.Verbs;

/// <summary>A reliable-connected queue pair (struct ibv_qp, IBV_QPT_RC).
/// <para>Connect it with <see cref="ToInit"/>, <see cref="ToRtr"/> and <see cref="ToRts"/> (RESET→INIT→RTR→RTS with
/// the attribute masks of ibv_modify_qp(3)), after exchanging QP number, PSN and GID with the peer out of band.
/// Receives may be posted from INIT; send-queue work requests only in RTS.</para>
/// <para>Posting calls the provider's ops-table entries with work requests built on the stack: no allocation for up
/// to 16 requests. A full queue is a return value, not an exception; an error completion moves the QP to
/// <see cref="QueuePairState.Error"/>, where everything outstanding completes with
/// <see cref="WorkCompletionStatus.WorkRequestFlushError"/>; <see cref="Reset"/> and a new handshake recover it.</para></summary>
public sealed unsafe class QueuePair : IDisposable
{
    private const int StackRequests = 16;
    private readonly Interop.Verbs.ContextOps _ops;

    internal QueuePair(QpHandle handle, Interop.Verbs.ContextOps ops, QueuePairCapabilities capabilities)
    {
        Handle = handle;
        _ops = ops;
        Capabilities = capabilities;
        QpNumber = *(uint*)((byte*)handle.DangerousGetHandle() + Interop.Verbs.QpQpNumOffset);
    }

    /// <summary>The QP number (24 bits) the peer needs.</summary>
    public uint QpNumber { get; }

    /// <summary>What the device gave (at least what was asked for).</summary>
    public QueuePairCapabilities Capabilities { get; }

    internal QpHandle Handle { get; }

    /// <summary>RESET→INIT: pkey index, port and the remote rights this QP grants (ibv_modify_qp).</summary>
    /// <param name="port">1-based port.</param>
    /// <param name="access">Remote rights the peer gets through this QP (e.g. RemoteWrite | RemoteRead).</param>
    /// <param name="pkeyIndex">P_Key table index (0 on RoCE).</param>
    public void ToInit(byte port, MemoryAccess access, ushort pkeyIndex = 0)
    {
        var attr = new Interop.Verbs.IbvQpAttr
        {
            QpState = (int)QueuePairState.Init,
            PkeyIndex = pkeyIndex,
            PortNum = port,
            QpAccessFlags = (uint)access,
        };
        Modify(ref attr, Interop.Verbs.InitMask, "RESET→INIT");
    }

    /// <summary>INIT→RTR: the path to the peer and its QP number and initial PSN (ibv_modify_qp). Always uses a GRH
    /// (required on RoCE).</summary>
    public void ToRtr(in RtrParameters parameters)
    {
        if (parameters.RemotePsn > 0xFFFFFF || parameters.RemoteQpNumber > 0xFFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(parameters), "QP numbers and PSNs are 24-bit");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(parameters.GidIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parameters.GidIndex, 255);
        var attr = new Interop.Verbs.IbvQpAttr
        {
            QpState = (int)QueuePairState.ReadyToReceive,
            PathMtu = (int)parameters.Mtu,
            DestQpNum = parameters.RemoteQpNumber,
            RqPsn = parameters.RemotePsn,
            MaxDestRdAtomic = parameters.MaxDestReadAtomic,
            MinRnrTimer = parameters.MinRnrTimer,
        };
        attr.AhAttr.IsGlobal = 1;
        attr.AhAttr.Dlid = parameters.RemoteLid;
        attr.AhAttr.Sl = parameters.ServiceLevel;
        attr.AhAttr.PortNum = parameters.Port;
        attr.AhAttr.Grh.SgidIndex = (byte)parameters.GidIndex;
        attr.AhAttr.Grh.HopLimit = parameters.HopLimit;
        attr.AhAttr.Grh.TrafficClass = parameters.TrafficClass;
        attr.AhAttr.Grh.FlowLabel = parameters.FlowLabel;
        parameters.RemoteGid.WriteTo(new Span<byte>(attr.AhAttr.Grh.Dgid, VerbsGid.Size));
        Modify(ref attr, Interop.Verbs.RtrMask, "INIT→RTR");
    }

    /// <summary>RTR→RTS (ibv_modify_qp).</summary>
    /// <param name="psn">This QP's initial send PSN (24-bit; the peer used it as its rq_psn).</param>
    /// <param name="timeout">Local ACK timeout, 4.096 µs × 2^timeout (14 ≈ 67 ms); 0 waits forever.</param>
    /// <param name="retryCount">Transport retries (max 7).</param>
    /// <param name="rnrRetry">Retries when the peer has no receive posted (7 = forever).</param>
    /// <param name="maxReadAtomic">Outstanding RDMA READs this QP may issue.</param>
    public void ToRts(uint psn, byte timeout = 14, byte retryCount = 7, byte rnrRetry = 7, byte maxReadAtomic = 1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(psn, 0xFFFFFFu);
        var attr = new Interop.Verbs.IbvQpAttr
        {
            QpState = (int)QueuePairState.ReadyToSend,
            SqPsn = psn,
            Timeout = timeout,
            RetryCnt = retryCount,
            RnrRetry = rnrRetry,
            MaxRdAtomic = maxReadAtomic,
        };
        Modify(ref attr, Interop.Verbs.RtsMask, "RTR→RTS");
    }

    /// <summary>Moves to the error state: outstanding work requests complete with flush errors.</summary>
    public void ToError()
    {
        var attr = new Interop.Verbs.IbvQpAttr { QpState = (int)QueuePairState.Error };
        Modify(ref attr, Interop.Verbs.IBV_QP_STATE, "→ERR");
    }

    /// <summary>Moves to RESET: both queues are emptied without completions; connect again from <see cref="ToInit"/>.</summary>
    public void Reset()
    {
        var attr = new Interop.Verbs.IbvQpAttr { QpState = (int)QueuePairState.Reset };
        Modify(ref attr, Interop.Verbs.IBV_QP_STATE, "→RESET");
    }

    /// <summary>The current state as the device reports it (ibv_query_qp), e.g. Error after an error completion.</summary>
    public QueuePairState QueryState()
    {
        using var lease = new Lease(Handle);
        Interop.Verbs.IbvQpAttr attr;
        Interop.Verbs.IbvQpInitAttr init;
        int rc = Handle.Exports.QueryQp(lease.Native, &attr, Interop.Verbs.IBV_QP_STATE, &init);
        return rc == 0 ? (QueuePairState)attr.QpState : throw new VerbsException("ibv_query_qp", rc);
    }

    /// <summary>Posts an RDMA WRITE of <paramref name="local"/> to the peer's <paramref name="remoteAddress"/>.</summary>
    /// <returns>False when the send queue is full (ENOMEM).</returns>
    /// <exception cref="VerbsException">The provider refused it, e.g. EINVAL when the QP is not in RTS.</exception>
    public bool PostWrite(ulong wrId, ScatterGather local, ulong remoteAddress, uint rkey, bool signaled = true) =>
        PostOne(SendRequest.Write(wrId, local, remoteAddress, rkey, signaled));

    /// <summary>Posts an RDMA READ of the peer's <paramref name="remoteAddress"/> into <paramref name="local"/>.</summary>
    /// <returns>False when the send queue is full.</returns>
    public bool PostRead(ulong wrId, ScatterGather local, ulong remoteAddress, uint rkey, bool signaled = true) =>
        PostOne(SendRequest.Read(wrId, local, remoteAddress, rkey, signaled));

    /// <summary>Posts a SEND of <paramref name="local"/>, which lands in the peer's next posted receive.</summary>
    /// <returns>False when the send queue is full.</returns>
    public bool PostSend(ulong wrId, ScatterGather local, bool signaled = true) =>
        PostOne(SendRequest.Send(wrId, local, signaled));

    /// <summary>Posts one send-queue work request of any opcode.</summary>
    /// <returns>False when the send queue is full.</returns>
    public bool PostSend(in SendRequest request) => PostOne(request);

    /// <summary>Posts a chain of send-queue work requests with one call (ibv_post_send with wr.next links); they
    /// execute and complete in order.</summary>
    /// <returns>How many were posted: all of them, or fewer when the send queue filled up (the rest were not).</returns>
    /// <exception cref="VerbsException">The provider refused a request; those before it were posted.</exception>
    public int Post(ReadOnlySpan<SendRequest> chain)
    {
        if (chain.IsEmpty)
        {
            return 0;
        }

        int n = chain.Length;
        int bytes = n * (sizeof(Interop.Verbs.IbvSendWr) + sizeof(Interop.Verbs.IbvSge));
        byte* stack = stackalloc byte[StackRequests * (sizeof(Interop.Verbs.IbvSendWr) + sizeof(Interop.Verbs.IbvSge))];
        byte* heap = n > StackRequests ? (byte*)NativeMemory.AllocZeroed((nuint)bytes) : null;
        try
        {
            var wrs = (Interop.Verbs.IbvSendWr*)(heap != null ? heap : stack);
            var sges = (Interop.Verbs.IbvSge*)(wrs + n);
            for (int i = 0; i < n; i++)
            {
                ref readonly var r = ref chain[i];
                sges[i] = new Interop.Verbs.IbvSge { Addr = r.Local.Address, Length = r.Local.Length, Lkey = r.Local.Lkey };
                var wr = &wrs[i];
                wr->WrId = r.WorkRequestId;
                wr->Next = i + 1 < n ? &wrs[i + 1] : null;
                wr->SgList = r.Local.Length > 0 ? &sges[i] : null;
                wr->NumSge = r.Local.Length > 0 ? 1 : 0;
                wr->Opcode = (int)r.Opcode;
                wr->SendFlags = (r.Signaled ? (uint)Interop.Verbs.IBV_SEND_SIGNALED : 0)
                    | (r.Solicited ? (uint)Interop.Verbs.IBV_SEND_SOLICITED : 0)
                    | (r.Fence ? (uint)Interop.Verbs.IBV_SEND_FENCE : 0);
                wr->ImmData = r.Immediate;
                wr->RdmaRemoteAddr = r.RemoteAddress;
                wr->RdmaRkey = r.Rkey;
            }

            using var lease = new Lease(Handle);
            Interop.Verbs.IbvSendWr* bad = null;
            int rc = _ops.PostSend(lease.Native, wrs, &bad);
            if (rc == 0)
            {
                return n;
            }

            int posted = bad == null ? 0 : (int)(bad - wrs);
            if (rc == Interop.Libc.ENOMEM)
            {
                return posted;
            }

            throw new VerbsException("ibv_post_send", rc, posted > 0 ? $"{posted} of {n} work requests were posted" : null);
        }
        finally
        {
            if (heap != null)
            {
                NativeMemory.Free(heap);
            }
        }
    }

    /// <summary>Posts one receive.</summary>
    /// <returns>False when the receive queue is full.</returns>
    public bool PostRecv(ulong wrId, ScatterGather local)
    {
        var request = new ReceiveRequest(wrId, local);
        return PostRecv(new ReadOnlySpan<ReceiveRequest>(in request)) == 1;
    }

    /// <summary>Posts a chain of receives with one call (ibv_post_recv).</summary>
    /// <returns>How many were posted (fewer when the receive queue filled up).</returns>
    /// <exception cref="VerbsException">The provider refused a receive, e.g. EINVAL in RESET.</exception>
    public int PostRecv(ReadOnlySpan<ReceiveRequest> chain)
    {
        if (chain.IsEmpty)
        {
            return 0;
        }

        int n = chain.Length;
        int bytes = n * (sizeof(Interop.Verbs.IbvRecvWr) + sizeof(Interop.Verbs.IbvSge));
        byte* stack = stackalloc byte[StackRequests * (sizeof(Interop.Verbs.IbvRecvWr) + sizeof(Interop.Verbs.IbvSge))];
        byte* heap = n > StackRequests ? (byte*)NativeMemory.AllocZeroed((nuint)bytes) : null;
        try
        {
            var wrs = (Interop.Verbs.IbvRecvWr*)(heap != null ? heap : stack);
            var sges = (Interop.Verbs.IbvSge*)(wrs + n);
            for (int i = 0; i < n; i++)
            {
                ref readonly var r = ref chain[i];
                sges[i] = new Interop.Verbs.IbvSge { Addr = r.Local.Address, Length = r.Local.Length, Lkey = r.Local.Lkey };
                wrs[i].WrId = r.WorkRequestId;
                wrs[i].Next = i + 1 < n ? &wrs[i + 1] : null;
                wrs[i].SgList = r.Local.Length > 0 ? &sges[i] : null;
                wrs[i].NumSge = r.Local.Length > 0 ? 1 : 0;
            }

            using var lease = new Lease(Handle);
            Interop.Verbs.IbvRecvWr* bad = null;
            int rc = _ops.PostRecv(lease.Native, wrs, &bad);
            if (rc == 0)
            {
                return n;
            }

            int posted = bad == null ? 0 : (int)(bad - wrs);
            if (rc == Interop.Libc.ENOMEM)
            {
                return posted;
            }

            throw new VerbsException("ibv_post_recv", rc, posted > 0 ? $"{posted} of {n} receives were posted" : null);
        }
        finally
        {
            if (heap != null)
            {
                NativeMemory.Free(heap);
            }
        }
    }

    /// <summary>Destroys the queue pair (ibv_destroy_qp); its PD and completion queues may go after it.</summary>
    public void Dispose() => Handle.Dispose();

    private bool PostOne(in SendRequest request) => Post(new ReadOnlySpan<SendRequest>(in request)) == 1;

    private void Modify(ref Interop.Verbs.IbvQpAttr attr, int mask, string transition)
    {
        using var lease = new Lease(Handle);
        int rc;
        fixed (Interop.Verbs.IbvQpAttr* p = &attr)
        {
            rc = Handle.Exports.ModifyQp(lease.Native, p, mask);
        }

        if (rc != 0)
        {
            throw new VerbsException("ibv_modify_qp", rc, $"QP {QpNumber} {transition}");
        }
    }
}
