namespace DataPlane.Transfer.Abstractions;

/// <summary>The kind of a transfer operation; the names label metrics.</summary>
public enum TransferOp
{
    /// <summary>One-sided write of a local slice into a peer's region (RDMA WRITE).</summary>
    Write,

    /// <summary>One-sided read of a peer's region into a local slice (RDMA READ).</summary>
    Read,

    /// <summary>Two-sided message, delivered to the peer's <see cref="ITransferConnection.ReceiveAsync"/> (SEND).</summary>
    Send,
}

/// <summary>One operation of a chained submission (<see cref="ITransferConnection.SubmitAsync"/>); RDMA posts a
/// chain as one linked list of work requests.</summary>
public readonly record struct TransferRequest
{
    private TransferRequest(TransferOp op, RegisteredSlice local, RemoteRegion remote, ulong remoteOffset, ReadOnlyMemory<byte> message)
    {
        Op = op;
        Local = local;
        Remote = remote;
        RemoteOffset = remoteOffset;
        Message = message;
    }

    /// <summary>The operation.</summary>
    public TransferOp Op { get; }

    /// <summary>The local operand of a WRITE (source) or READ (destination).</summary>
    public RegisteredSlice Local { get; }

    /// <summary>The peer's region of a WRITE or READ.</summary>
    public RemoteRegion Remote { get; }

    /// <summary>Offset in <see cref="Remote"/> of a WRITE or READ.</summary>
    public ulong RemoteOffset { get; }

    /// <summary>The payload of a SEND.</summary>
    public ReadOnlyMemory<byte> Message { get; }

    /// <summary>Bytes the operation moves.</summary>
    public int Bytes => Op == TransferOp.Send ? Message.Length : Local.Length;

    /// <summary>A WRITE of <paramref name="source"/> to <paramref name="destination"/> at <paramref name="remoteOffset"/>.</summary>
    public static TransferRequest Write(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset) =>
        new(TransferOp.Write, source, destination, remoteOffset, default);

    /// <summary>A READ of <paramref name="source"/> at <paramref name="remoteOffset"/> into <paramref name="destination"/>.</summary>
    public static TransferRequest Read(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset) =>
        new(TransferOp.Read, destination, source, remoteOffset, default);

    /// <summary>A SEND of <paramref name="message"/>.</summary>
    public static TransferRequest Send(ReadOnlyMemory<byte> message) =>
        new(TransferOp.Send, default, default, 0, message);
}
