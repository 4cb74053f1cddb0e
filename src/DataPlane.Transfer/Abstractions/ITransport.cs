using System.Net;
using DataPlane.Transfer.Buffers;

namespace DataPlane.Transfer.Abstractions;

/// <summary>A way of moving bytes between hosts: RDMA (one device, protection domain and completion machinery)
/// or TCP. A transport registers memory, listens for and opens connections; connections carry the transfers.
/// Both transports open connections through the same TCP control channel and versioned handshake
/// (<see cref="Handshake.HandshakeExchange"/>), so a peer's listener address is the same for both.</summary>
public interface ITransport : IAsyncDisposable
{
    /// <summary>Which transport this is.</summary>
    TransportKind Kind { get; }

    /// <summary>Bytes currently registered with this transport.</summary>
    long RegisteredBytes { get; }

    /// <summary>Registers <paramref name="memory"/> (RDMA: <c>ibv_reg_mr</c>, which pins and maps it; TCP: a
    /// table entry and token). Registering is slow on RDMA: register once and reuse, through a
    /// <see cref="RegistrationCache"/> or a <see cref="RegisteredBufferPool"/>. Dispose the result to deregister.</summary>
    RegisteredBuffer Register(PinnedBuffer memory, RegionAccess access);

    /// <summary>Starts listening on <paramref name="endpoint"/> (port 0 picks a free port). Each accepted peer is
    /// handshaken with <paramref name="settings"/> before <see cref="ITransferListener.AcceptAsync"/> returns it.</summary>
    ITransferListener Listen(IPEndPoint endpoint, ConnectionSettings settings);

    /// <summary>Connects to a peer's listener and completes the handshake. Fails with a
    /// <see cref="TransferException"/> of status <see cref="TransferStatus.HandshakeFailed"/> naming the stage.</summary>
    Task<ITransferConnection> ConnectAsync(IPEndPoint endpoint, ConnectionSettings settings, CancellationToken cancellationToken = default);
}

/// <summary>Accepts connections for a transport.</summary>
public interface ITransferListener : IAsyncDisposable
{
    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>The next peer whose handshake succeeded. Failed handshakes are logged and counted, not returned.</summary>
    ValueTask<ITransferConnection> AcceptAsync(CancellationToken cancellationToken = default);
}
