using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Tcp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Handshake;

/// <summary>The listening side of every transport: accepts control connections, reads each peer's offer and settles
/// its flow class, then lets the transport finish the connection (<see cref="CompleteAsync"/>). Handshakes run
/// concurrently in the background (each under the handshake timeout), so a slow or hostile peer cannot hold up the
/// others; only connections whose handshake succeeded reach <see cref="AcceptAsync"/>.</summary>
internal abstract class HandshakeListener : ITransferListener
{
    private readonly TransportKind _kind;
    private readonly Socket _socket;
    private readonly Channel<ITransferConnection> _accepted = Channel.CreateUnbounded<ITransferConnection>();
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;
    private int _disposed;

    protected HandshakeListener(TransportKind kind, IPEndPoint endpoint, ConnectionSettings settings, ILogger? logger)
    {
        _kind = kind;
        Settings = settings;
        Logger = logger;
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
        if (logger is not null)
        {
            TransferLog.Listening(logger, LocalEndPoint, kind.Name());
        }
    }

    public IPEndPoint LocalEndPoint { get; }

    protected ConnectionSettings Settings { get; }

    protected ILogger? Logger { get; }

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
        if (_acceptLoop is not null)
        {
            try
            {
                await _acceptLoop.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Expected: the loop ends by its socket closing.
            }
        }

        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var orphan))
        {
            await orphan.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        OnClosed();
    }

    /// <summary>Starts accepting; called by the subclass once it is fully constructed.</summary>
    protected void Start() => _acceptLoop = AcceptLoopAsync();

    /// <summary>The transport's part of the handshake, after the offer was read and the socket tuned for
    /// <paramref name="flowClass"/>: answer the peer over <paramref name="stream"/> and return the connected peer.
    /// A <see cref="TransferException"/> with a stage is counted, logged and closes the socket; the transport cleans up
    /// whatever it created before throwing.</summary>
    protected abstract Task<ITransferConnection> CompleteAsync(Socket client, NetworkStream stream, HandshakeMessage offer, FlowClass flowClass,
        ConnectionSettings settings, CancellationToken cancellationToken);

    /// <summary>Counts and logs a handshake that failed at <paramref name="stage"/>.</summary>
    protected abstract void HandshakeFailed(EndPoint? remote, HandshakeStage stage, string message);

    /// <summary>Tells the transport the listener is gone.</summary>
    protected abstract void OnClosed();

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
            ITransferConnection connection;
            await using (var stream = new NetworkStream(client, ownsSocket: false))
            {
                var offer = await HandshakeExchange.ReceiveOfferAsync(stream, _kind, Settings.HandshakeTimeout, _stop.Token).ConfigureAwait(false);
                var flowClass = ResolveFlowClass(offer);
                SocketTuning.Apply(client, flowClass, Logger);
                connection = await CompleteAsync(client, stream, offer, flowClass, Settings with { Generation = offer.Generation }, _stop.Token)
                    .ConfigureAwait(false);
            }

            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            HandshakeFailed(remote, stage, e.Message);
            client.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException or TransferException)
        {
            client.Dispose();
        }
    }

    private FlowClass ResolveFlowClass(HandshakeMessage offer)
    {
        if (offer.FlowClass.Length > 0 && Settings.ResolveFlowClass?.Invoke(offer.FlowClass) is { } configured)
        {
            return configured;
        }

        // Unknown here: mark this side's packets like the peer marks its own.
        return Settings.FlowClass with
        {
            Name = offer.FlowClass.Length > 0 ? offer.FlowClass : Settings.FlowClass.Name,
            Dscp = offer.TrafficClass >> 2,
            TrafficClassOverride = offer.TrafficClass,
            ServiceLevel = offer.ServiceLevel,
        };
    }
}
