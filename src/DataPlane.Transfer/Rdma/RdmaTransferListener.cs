using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;

namespace DataPlane.Transfer.Rdma;

/// <summary>Accepts RDMA connections: (mutual TLS and the peer's identity, checked by the base class before anything
/// is allocated) offer → queue pair to RTS → answer → wait for Ready; the control connection (inside TLS when
/// configured) stays open for credits and for noticing a peer that has gone. RDMA payloads never pass through TLS.</summary>
internal sealed class RdmaTransferListener : HandshakeListener
{
    private readonly RdmaTransport _transport;

    public RdmaTransferListener(RdmaTransport transport, IPEndPoint endpoint, ConnectionSettings settings)
        : base(TransportKind.Rdma, endpoint, settings, transport.Logger, transport.Metrics, transport.Time)
    {
        _transport = transport;
        Start();
    }

    protected override async Task<ITransferConnection> CompleteAsync(ControlChannel channel, HandshakeMessage offer, FlowClass flowClass,
        ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var stream = channel.Stream;
        RdmaConnection? connection = null;
        try
        {
            try
            {
                connection = new RdmaConnection(_transport, settings, flowClass);
                connection.Connect(offer);
            }
            catch (TransferException)
            {
                await HandshakeExchange.TryRejectAsync(stream, TransportKind.Rdma, HandshakeRejectReason.NoResources, Settings.HandshakeTimeout, cancellationToken)
                    .ConfigureAwait(false);
                throw;
            }

            var answer = _transport.LocalMessage(HandshakeMessageType.Answer, settings, flowClass, connection);
            await HandshakeExchange.SendAsync(stream, answer, Settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
            var ready = await HandshakeExchange.ReceiveAsync(stream, Settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
            if (ready.Type != HandshakeMessageType.Ready)
            {
                throw new TransferException(HandshakeStage.Ready, $"expected ready, got a {ready.Type}");
            }

            _transport.Started(connection, channel);
            return connection;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException or TransferException)
        {
            connection?.Destroy();
            throw;
        }
    }

    protected override void OnClosed() => _transport.Closed(this);
}
