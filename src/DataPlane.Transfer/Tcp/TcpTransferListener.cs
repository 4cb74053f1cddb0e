using System.Net;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;

namespace DataPlane.Transfer.Tcp;

/// <summary>Accepts TCP transfer connections: after the (TLS-authenticated) offer, the answer, and the control connection
/// becomes the data connection — inside the TLS session, or in clear when both sides turned encryption off.</summary>
internal sealed class TcpTransferListener : HandshakeListener
{
    private readonly TcpTransport _transport;

    public TcpTransferListener(TcpTransport transport, IPEndPoint endpoint, ConnectionSettings settings)
        : base(TransportKind.Tcp, endpoint, settings, transport.Logger, transport.Metrics, transport.Time)
    {
        _transport = transport;
        Start();
    }

    protected override async Task<ITransferConnection> CompleteAsync(ControlChannel channel, HandshakeMessage offer, FlowClass flowClass,
        ConnectionSettings settings, CancellationToken cancellationToken)
    {
        // Data in clear only when the peer asked for it and this side allows it too.
        bool clear = channel.Secure && (offer.Flags & HandshakeFlags.ClearData) != 0 && settings.Security is { EncryptData: false };
        var answer = TcpTransport.LocalMessage(HandshakeMessageType.Answer, settings, flowClass, clear);
        await HandshakeExchange.SendAsync(channel.Stream, answer, Settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        return _transport.Open(channel, clear, settings, flowClass, offer);
    }

    protected override void OnClosed() => _transport.Closed(this);
}
