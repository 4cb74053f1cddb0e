using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;

namespace DataPlane.Transfer.Tcp;

/// <summary>Accepts TCP transfer connections. Handshakes run concurrently in the background (each under the
/// handshake timeout), so a slow or hostile peer cannot hold up the others; only connections whose handshake
/// succeeded reach <see cref="AcceptAsync"/>.</summary>
internal sealed class TcpTransferListener : ITransferListener
{
    private readonly TcpTransport _transport;
    private readonly ConnectionSettings _settings;
    private readonly Socket _socket;
    private readonly Channel<ITransferConnection> _accepted = Channel.CreateUnbounded<ITransferConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    public TcpTransferListener(TcpTransport transport, IPEndPoint endpoint, ConnectionSettings settings)
    {
        _transport = transport;
        _settings = settings;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                _socket.DualMode = true;
            }

            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(endpoint);
            _socket.Listen(512);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        if (transport.Logger is not null)
        {
            TransferLog.Listening(transport.Logger, LocalEndPoint, TransportKind.Tcp.Name());
        }

        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask<ITransferConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException("the transfer listener is closed", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Expected: the loop ends by its socket closing.
        }

        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var orphan))
        {
            await orphan.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _transport.Closed(this);
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || (e is SocketException && _stop.IsCancellationRequested))
            {
                break;
            }
            catch (SocketException)
            {
                // A connection reset before accept completed; keep listening.
                continue;
            }

            _ = HandshakeAsync(client);
        }

        _accepted.Writer.TryComplete();
    }

    private async Task HandshakeAsync(Socket client)
    {
        var remote = client.RemoteEndPoint;
        try
        {
            client.NoDelay = true;
            HandshakeMessage offer;
            FlowClass flowClass;
            await using (var stream = new NetworkStream(client, ownsSocket: false))
            {
                offer = await HandshakeExchange.ReceiveOfferAsync(stream, TransportKind.Tcp, _settings.HandshakeTimeout, _stop.Token).ConfigureAwait(false);
                flowClass = ResolveFlowClass(offer);
                SocketTuning.Apply(client, flowClass, _transport.Logger);
                var answer = TcpTransport.LocalMessage(HandshakeMessageType.Answer, _settings with { Generation = offer.Generation }, flowClass);
                await HandshakeExchange.SendAsync(stream, answer, _settings.HandshakeTimeout, _stop.Token).ConfigureAwait(false);
            }

            var connection = _transport.Open(client, _settings with { Generation = offer.Generation }, flowClass, offer);
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            _transport.Metrics?.HandshakeFailed(stage);
            if (_transport.Logger is not null)
            {
                TransferLog.HandshakeFailed(_transport.Logger, remote, stage.Name(), e.Message);
            }

            client.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            client.Dispose();
        }
    }

    private FlowClass ResolveFlowClass(HandshakeMessage offer)
    {
        if (offer.FlowClass.Length > 0 && _settings.ResolveFlowClass?.Invoke(offer.FlowClass) is { } configured)
        {
            return configured;
        }

        // Unknown here: mark the replies like the peer marks its requests.
        return _settings.FlowClass with
        {
            Name = offer.FlowClass.Length > 0 ? offer.FlowClass : _settings.FlowClass.Name,
            Dscp = offer.TrafficClass >> 2,
            TrafficClassOverride = offer.TrafficClass,
            ServiceLevel = offer.ServiceLevel,
        };
    }
}
