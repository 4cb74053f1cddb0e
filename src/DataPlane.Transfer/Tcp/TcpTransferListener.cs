using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;

namespace DataPlane.Transfer.Tcp;

/// <summary>Accepts TCP transfer connections: after the offer, the answer, and the control connection becomes the
/// data connection.</summary>
internal sealed class TcpTransferListener : HandshakeListener
{
    private readonly TcpTransport _transport;

    public TcpTransferListener(TcpTransport transport, IPEndPoint endpoint, ConnectionSettings settings)
        : base(TransportKind.Tcp, endpoint, settings, transport.Logger)
    {
        _transport = transport;
        Start();
    }

    protected override async Task<ITransferConnection> CompleteAsync(Socket client, NetworkStream stream, HandshakeMessage offer, FlowClass flowClass,
        ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var answer = TcpTransport.LocalMessage(HandshakeMessageType.Answer, settings, flowClass);
        await HandshakeExchange.SendAsync(stream, answer, Settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        return _transport.Open(client, settings, flowClass, offer);
    }

    protected override void HandshakeFailed(EndPoint? remote, HandshakeStage stage, string message)
    {
        _transport.Metrics?.HandshakeFailed(stage);
        if (_transport.Logger is not null)
        {
            TransferLog.HandshakeFailed(_transport.Logger, remote, stage.Name(), message);
        }
    }

    protected override void OnClosed() => _transport.Closed(this);
}
