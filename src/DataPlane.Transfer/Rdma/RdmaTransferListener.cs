using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Tcp;

namespace DataPlane.Transfer.Rdma;

/// <summary>Accepts RDMA connections: each peer's handshake runs in the background (offer → QP to RTS → answer →
/// wait for Ready), so a slow peer cannot hold up the others; only connected peers reach <see cref="AcceptAsync"/>.</summary>
internal sealed class RdmaTransferListener : ITransferListener
{
    private readonly RdmaTransport _transport;
    private readonly ConnectionSettings _settings;
    private readonly Socket _socket;
    private readonly Channel<ITransferConnection> _accepted = Channel.CreateUnbounded<ITransferConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    public RdmaTransferListener(RdmaTransport transport, IPEndPoint endpoint, ConnectionSettings settings)
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
            TransferLog.Listening(transport.Logger, LocalEndPoint, TransportKind.Rdma.Name());
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
                continue;
            }

            _ = HandshakeAsync(client);
        }

        _accepted.Writer.TryComplete();
    }

    private async Task HandshakeAsync(Socket client)
    {
        var remote = client.RemoteEndPoint;
        RdmaConnection? connection = null;
        try
        {
            client.NoDelay = true;
            var token = _stop.Token;
            await using (var stream = new NetworkStream(client, ownsSocket: false))
            {
                var offer = await HandshakeExchange.ReceiveOfferAsync(stream, TransportKind.Rdma, _settings.HandshakeTimeout, token).ConfigureAwait(false);
                var flowClass = ResolveFlowClass(offer);
                SocketTuning.Apply(client, flowClass, _transport.Logger);
                var settings = _settings with { Generation = offer.Generation };
                try
                {
                    connection = new RdmaConnection(_transport, settings, flowClass);
                    connection.Connect(offer);
                }
                catch (TransferException)
                {
                    await HandshakeExchange.TryRejectAsync(stream, TransportKind.Rdma, HandshakeRejectReason.NoResources, _settings.HandshakeTimeout, token)
                        .ConfigureAwait(false);
                    throw;
                }

                var answer = _transport.LocalMessage(HandshakeMessageType.Answer, settings, flowClass, connection);
                await HandshakeExchange.SendAsync(stream, answer, _settings.HandshakeTimeout, token).ConfigureAwait(false);
                var ready = await HandshakeExchange.ReceiveAsync(stream, _settings.HandshakeTimeout, token).ConfigureAwait(false);
                if (ready.Type != HandshakeMessageType.Ready)
                {
                    throw new TransferException(HandshakeStage.Ready, $"expected ready, got a {ready.Type}");
                }
            }

            _transport.Started(connection, client);
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            _transport.HandshakeFailed(remote, stage, e.Message);
            connection?.Destroy();
            client.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException or TransferException)
        {
            connection?.Destroy();
            client.Dispose();
        }
    }

    private FlowClass ResolveFlowClass(HandshakeMessage offer)
    {
        if (offer.FlowClass.Length > 0 && _settings.ResolveFlowClass?.Invoke(offer.FlowClass) is { } configured)
        {
            return configured;
        }

        // Unknown here: mark this side's packets like the peer marks its own.
        return _settings.FlowClass with
        {
            Name = offer.FlowClass.Length > 0 ? offer.FlowClass : _settings.FlowClass.Name,
            Dscp = offer.TrafficClass >> 2,
            TrafficClassOverride = offer.TrafficClass,
            ServiceLevel = offer.ServiceLevel,
        };
    }
}
