namespace DataPlane.Interop.Verbs;

/// <summary>One scatter/gather element (struct ibv_sge): a piece of a registered region. Get one from
/// <see cref="MemoryRegion.Slice"/>. A zero length posts the request with no SGE.</summary>
/// <param name="Address">Start address (in the region's address space, i.e. its virtual address).</param>
/// <param name="Length">Bytes.</param>
/// <param name="Lkey">The region's local key.</param>
public readonly record struct ScatterGather(ulong Address, uint Length, uint Lkey);

/// <summary>A send-queue work request for <see cref="QueuePair.Post(ReadOnlySpan{SendRequest})"/>, one SGE each.</summary>
/// <param name="WorkRequestId">Returned in its completion.</param>
/// <param name="Opcode">What to do.</param>
/// <param name="Local">The local buffer (source, or READ destination).</param>
/// <param name="RemoteAddress">RDMA WRITE/READ: the peer's address (in its region's address space).</param>
/// <param name="Rkey">RDMA WRITE/READ: the peer region's remote key.</param>
/// <param name="Signaled">Whether a successful completion is reported (errors always are). Signal at least every
/// few requests, or the send queue never frees up.</param>
public readonly record struct SendRequest(
    ulong WorkRequestId,
    SendOpcode Opcode,
    ScatterGather Local,
    ulong RemoteAddress = 0,
    uint Rkey = 0,
    bool Signaled = true)
{
    /// <summary>The immediate value for the "with immediate" opcodes, delivered unchanged in the peer's completion.</summary>
    public uint Immediate { get; init; }

    /// <summary>IBV_SEND_SOLICITED: wakes a peer that asked to be notified of solicited completions only.</summary>
    public bool Solicited { get; init; }

    /// <summary>IBV_SEND_FENCE: waits for earlier RDMA READs before starting.</summary>
    public bool Fence { get; init; }

    /// <summary>An RDMA WRITE of <paramref name="local"/> to the peer's <paramref name="remoteAddress"/>.</summary>
    public static SendRequest Write(ulong wrId, ScatterGather local, ulong remoteAddress, uint rkey, bool signaled = true) =>
        new(wrId, SendOpcode.RdmaWrite, local, remoteAddress, rkey, signaled);

    /// <summary>An RDMA READ of the peer's <paramref name="remoteAddress"/> into <paramref name="local"/>.</summary>
    public static SendRequest Read(ulong wrId, ScatterGather local, ulong remoteAddress, uint rkey, bool signaled = true) =>
        new(wrId, SendOpcode.RdmaRead, local, remoteAddress, rkey, signaled);

    /// <summary>A SEND of <paramref name="local"/> into the peer's next posted receive.</summary>
    public static SendRequest Send(ulong wrId, ScatterGather local, bool signaled = true) =>
        new(wrId, SendOpcode.Send, local, 0, 0, signaled);
}

/// <summary>A receive-queue work request: where the next incoming SEND lands.</summary>
/// <param name="WorkRequestId">Returned in its completion.</param>
/// <param name="Local">The buffer, in a region registered with <see cref="MemoryAccess.LocalWrite"/>.</param>
public readonly record struct ReceiveRequest(ulong WorkRequestId, ScatterGather Local);

/// <summary>What INIT→RTR needs: the peer's half of the connection handshake and the path settings
/// (ibv_modify_qp with the RC RTR mask).</summary>
/// <param name="RemoteQpNumber">The peer QP's number.</param>
/// <param name="RemotePsn">The peer's initial send PSN (becomes this QP's rq_psn).</param>
/// <param name="RemoteGid">The peer's GID (ah_attr.grh.dgid).</param>
/// <param name="GidIndex">This port's GID index to send from (ah_attr.grh.sgid_index): a RoCE v2 entry.</param>
public readonly record struct RtrParameters(uint RemoteQpNumber, uint RemotePsn, VerbsGid RemoteGid, int GidIndex)
{
    /// <summary>The local port (1-based).</summary>
    public byte Port { get; init; } = 1;

    /// <summary>path_mtu: the smaller of both ports' active MTUs.</summary>
    public Mtu Mtu { get; init; } = Mtu.Mtu1024;

    /// <summary>grh.hop_limit (the IP TTL on RoCE v2; must exceed the router hops).</summary>
    public byte HopLimit { get; init; } = 64;

    /// <summary>grh.traffic_class (DSCP &lt;&lt; 2 for the lossless class).</summary>
    public byte TrafficClass { get; init; }

    /// <summary>grh.flow_label.</summary>
    public uint FlowLabel { get; init; }

    /// <summary>ah_attr.sl, the service level (priority).</summary>
    public byte ServiceLevel { get; init; }

    /// <summary>ah_attr.dlid: the peer's LID (0 on RoCE).</summary>
    public ushort RemoteLid { get; init; }

    /// <summary>max_dest_rd_atomic: READs the peer may have outstanding against this QP.</summary>
    public byte MaxDestReadAtomic { get; init; } = 1;

    /// <summary>min_rnr_timer (IB encoding; 12 = 0.64 ms).</summary>
    public byte MinRnrTimer { get; init; } = 12;
}
