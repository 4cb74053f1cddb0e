using System.Net;

namespace DataPlane.Transfer.Abstractions;

/// <summary>A connection to one peer (RDMA: an RC queue pair plus its control channel; TCP: one persistent
/// socket). Every operation returns a Task that completes when the operation is complete at the peer: a WRITE
/// when the peer acknowledged it (its region holds the bytes), a READ when the bytes are in the local slice, a
/// SEND when the peer's transport took the message. Failures fault the Task with a
/// <see cref="TransferException"/> whose <see cref="TransferException.Status"/> says why.
///
/// <para>Ordering: operations issued on one connection execute at the peer in issue order, so a SEND issued
/// after a WRITE is received only after the WRITE's bytes are in place (RC semantics) — the usual
/// "write the payload, then send a notification" pattern needs no extra wait.</para>
///
/// <para>Cancellation abandons the wait: the Task is cancelled, but an operation already handed to the wire may
/// still complete at the peer (a NIC cannot take back a posted work request). A READ that is cancelled or times
/// out never writes its destination afterwards. Local memory must stay registered until the Task finishes.</para></summary>
public interface ITransferConnection : IAsyncDisposable
{
    /// <summary>The peer's name: with mutual TLS its authenticated identity (a name of its certificate); otherwise from its
    /// handshake (its address when it sent none).</summary>
    string PeerName { get; }

    /// <summary>The peer's control-channel address.</summary>
    EndPoint? RemoteEndPoint { get; }

    /// <summary>The transport of the connection.</summary>
    TransportKind Kind { get; }

    /// <summary>Whether the peer was authenticated by mutual TLS and whether the data is encrypted.</summary>
    Security.ConnectionProtection Protection { get; }

    /// <summary>The flow class the connection was set up with.</summary>
    FlowClass FlowClass { get; }

    /// <summary>The connection generation (0, then +1 per re-handshake).</summary>
    uint Generation { get; }

    /// <summary>The region the peer exposed in the handshake, or null.</summary>
    RemoteRegion? PeerRegion { get; }

    /// <summary>The largest message the peer receives.</summary>
    int PeerMaxMessageBytes { get; }

    /// <summary>Null while usable; the reason once the connection failed or was closed. A failed connection
    /// stays failed: open a new one (the engine does this, with a re-handshake).</summary>
    TransferStatus? Fault { get; }

    /// <summary>Completes when the connection ends (never faults).</summary>
    Task Completion { get; }

    /// <summary>One-sided WRITE of <paramref name="source"/> into <paramref name="destination"/> at
    /// <paramref name="remoteOffset"/>. An unknown key or an out-of-range write faults with
    /// <see cref="TransferStatus.RemoteAccessError"/>.</summary>
    Task WriteAsync(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset, CancellationToken cancellationToken = default);

    /// <summary>One-sided READ of <paramref name="destination"/>.Length bytes of <paramref name="source"/> at
    /// <paramref name="remoteOffset"/> into <paramref name="destination"/>.</summary>
    Task ReadAsync(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset, CancellationToken cancellationToken = default);

    /// <summary>Sends a message to the peer's <see cref="ReceiveAsync"/> (at most <see cref="PeerMaxMessageBytes"/>).
    /// The bytes are copied before the call returns, so the caller may reuse <paramref name="message"/> at once.</summary>
    Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>The next message the peer sent, in order. Dispose it to give its buffer back. Faults with
    /// <see cref="TransferStatus.ConnectionLost"/> (or <see cref="TransferStatus.Closed"/>) once the connection ends.</summary>
    ValueTask<TransferMessage> ReceiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Submits several operations at once, in order (RDMA: one chained <c>ibv_post_send</c>). Completes
    /// when all completed; faults with the first failed operation's status and its
    /// <see cref="TransferException.ChainIndex"/>.</summary>
    Task SubmitAsync(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken = default);
}
