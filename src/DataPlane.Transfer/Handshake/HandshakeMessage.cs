using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Handshake;

/// <summary>What a handshake message is for.</summary>
public enum HandshakeMessageType : byte
{
    /// <summary>The connecting side's parameters.</summary>
    Offer = 1,

    /// <summary>The listener's parameters, accepting the offer.</summary>
    Answer = 2,

    /// <summary>Sent by the connecting side after its QP reached RTS, so the listener starts sending only
    /// once the peer can receive (the "done" of rc_pingpong).</summary>
    Ready = 3,

    /// <summary>The listener refuses the offer; <see cref="HandshakeMessage.RejectReason"/> says why.</summary>
    Reject = 4,
}

/// <summary>Why a listener rejected an offer.</summary>
public enum HandshakeRejectReason : byte
{
    /// <summary>Not a rejection.</summary>
    None = 0,

    /// <summary>The offer's protocol version is not supported.</summary>
    UnsupportedVersion = 1,

    /// <summary>The listener runs another transport (e.g. an RDMA offer to a TCP-only peer).</summary>
    TransportMismatch = 2,

    /// <summary>The offer could not be decoded.</summary>
    Malformed = 3,

    /// <summary>The listener cannot take more connections or cannot allocate the QP.</summary>
    NoResources = 4,

    /// <summary>The listener requires mutual TLS and the offer came without it (sent in clear, so such a peer learns why).</summary>
    AuthenticationRequired = 5,

    /// <summary>The peer's certificate is valid but its name is not allowed here, or the node name in its offer is not a
    /// name of its certificate.</summary>
    NotAuthorized = 6,
}

/// <summary>Flags of a handshake message.</summary>
[Flags]
public enum HandshakeFlags : ushort
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>This offer replaces an earlier connection that failed (re-handshake after an error).</summary>
    Rehandshake = 1,

    /// <summary>The advertised region accepts WRITEs.</summary>
    RegionWritable = 2,

    /// <summary>The advertised region accepts READs.</summary>
    RegionReadable = 4,

    /// <summary>Over TLS: the sender's TCP data may travel in clear after the handshake (<c>Transfer:Encryption=none</c>).
    /// In an offer a request; in the answer the decision, set only when both sides asked for it.</summary>
    ClearData = 8,
}

/// <summary>One control-channel message of the connection handshake (format: <see cref="HandshakeCodec"/>).
/// It carries everything an RC queue pair needs from its peer (QPN, PSN, GID and GID index, LID, MTU,
/// outstanding reads, traffic class and service level) plus one advertised region (address, length, rkey), the
/// message size limit and the peer's names. The TCP transport sends the same message with the RDMA-only
/// fields zero, so both transports share one negotiation path.</summary>
public sealed record HandshakeMessage
{
    /// <summary>The message type.</summary>
    public HandshakeMessageType Type { get; init; } = HandshakeMessageType.Offer;

    /// <summary>Protocol version the sender speaks (decoding fills it; encoding writes
    /// <see cref="HandshakeCodec.CurrentVersion"/>).</summary>
    public ushort Version { get; init; } = HandshakeCodec.CurrentVersion;

    /// <summary>The sender's transport.</summary>
    public TransportKind Transport { get; init; } = TransportKind.Tcp;

    /// <summary>Flags.</summary>
    public HandshakeFlags Flags { get; init; }

    /// <summary>Connection generation (0, +1 per re-handshake).</summary>
    public uint Generation { get; init; }

    /// <summary>Queue pair number (24 bits); 0 on TCP.</summary>
    public uint QueuePairNumber { get; init; }

    /// <summary>Initial packet sequence number (24 bits, random): the peer's RTR <c>rq_psn</c>.</summary>
    public uint PacketSequenceNumber { get; init; }

    /// <summary>The port GID (16 bytes of <c>union ibv_gid</c>, network order; the first byte is the most
    /// significant). On RoCEv2 an IPv6 or IPv4-mapped address.</summary>
    public UInt128 Gid { get; init; }

    /// <summary>The sender's GID table index (informational: each side uses its own as sgid_index).</summary>
    public byte GidIndex { get; init; }

    /// <summary>Local identifier (InfiniBand; 0 on RoCE).</summary>
    public ushort Lid { get; init; }

    /// <summary>Path MTU as <c>enum ibv_mtu</c> (1 = 256 … 5 = 4096); each side uses the minimum. 0 on TCP.</summary>
    public byte Mtu { get; init; }

    /// <summary>RDMA READs the sender accepts in flight (its <c>max_dest_rd_atomic</c>).</summary>
    public byte MaxReadAtomic { get; init; }

    /// <summary>GRH traffic class (DSCP·4 + ECN) the sender uses for this flow.</summary>
    public byte TrafficClass { get; init; }

    /// <summary>Service level, 0–15.</summary>
    public byte ServiceLevel { get; init; }

    /// <summary>Why the offer was rejected (Reject only).</summary>
    public HandshakeRejectReason RejectReason { get; init; }

    /// <summary>Largest message the sender receives.</summary>
    public uint MaxMessageBytes { get; init; }

    /// <summary>Key of the advertised region (RDMA rkey, TCP token); 0 with no region.</summary>
    public uint RemoteKey { get; init; }

    /// <summary>Address of the advertised region's first byte.</summary>
    public ulong RegionAddress { get; init; }

    /// <summary>Length of the advertised region; 0 when none is advertised.</summary>
    public ulong RegionLength { get; init; }

    /// <summary>The sender's node name (UTF-8, at most 64 bytes).</summary>
    public string NodeName { get; init; } = "";

    /// <summary>The flow class the connection is for (UTF-8, at most 32 bytes).</summary>
    public string FlowClass { get; init; } = "";

    /// <summary>The advertised region, or null when <see cref="RegionLength"/> is 0.</summary>
    public RemoteRegion? Region => RegionLength == 0 ? null : new RemoteRegion(RegionAddress, RegionLength, RemoteKey);
}
