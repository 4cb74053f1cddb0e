using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Handshake;

/// <summary>The listening side of every transport: accepts control connections, authenticates each peer by mutual TLS
/// when the settings carry <see cref="ConnectionSettings.Security"/> (certificate from the CA, an allowed name, and the
/// offer's node name equal to it), reads its offer and settles its flow class, then lets the transport finish the
/// connection (<see cref="CompleteAsync"/>) — so an RDMA queue pair is created only for an authenticated peer.
/// Handshakes run concurrently in the background (each under the handshake timeout, at most
/// <see cref="ConnectionSettings.MaxPendingHandshakes"/> at once), so a slow or hostile peer cannot hold up the
/// others; only connections whose handshake succeeded reach <see cref="AcceptAsync"/>. Refusals are counted by stage
/// and reason and logged once per peer address and reason per interval.</summary>
internal abstract class HandshakeListener : ITransferListener
{
    private readonly TransportKind _kind;
    private readonly Socket _socket;
    private readonly Channel<ITransferConnection> _accepted = Channel.CreateUnbounded<ITransferConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly RefusalLog _refusals;
    private Task? _acceptLoop;
    private int _disposed;
    private int _pending;

    protected HandshakeListener(TransportKind kind, IPEndPoint endpoint, ConnectionSettings settings, ILogger? logger, TransferMetrics? metrics, TimeProvider time)
    {
        _kind = kind;
        Settings = settings;
        Logger = logger;
        Metrics = metrics;
        _refusals = new RefusalLog(time, settings.Security?.RefusalLogInterval ?? TimeSpan.FromMinutes(1));
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

    protected TransferMetrics? Metrics { get; }

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

    /// <summary>The transport's part of the handshake, after the peer was authenticated (with TLS), the offer read and
    /// the socket tuned for <paramref name="flowClass"/>: answer the peer over <paramref name="channel"/> and return the
    /// connected peer, which then owns the channel. The offer's node name is the peer's authenticated identity. A
    /// <see cref="TransferException"/> with a stage is counted, logged and closes the socket; the transport cleans up
    /// whatever it created before throwing.</summary>
    protected abstract Task<ITransferConnection> CompleteAsync(ControlChannel channel, HandshakeMessage offer, FlowClass flowClass,
        ConnectionSettings settings, CancellationToken cancellationToken);

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
        if (Interlocked.Increment(ref _pending) > Settings.MaxPendingHandshakes)
        {
            Interlocked.Decrement(ref _pending);
            // Counted before the peer sees its connection close.
            Refused(remote, HandshakeStage.Connect, "too_many_handshakes",
                $"{Settings.MaxPendingHandshakes} handshakes are already in progress; connection closed", countAsAuth: false);
            client.Dispose();
            return;
        }

        IDisposable? lease = null;
        if (Settings.AdmitConnection is { } admit && (lease = admit()) is null)
        {
            Interlocked.Decrement(ref _pending);
            Refused(remote, HandshakeStage.Connect, "connection_limit", "the listener holds its connection limit; connection closed",
                countAsAuth: false);
            client.Dispose();
            return;
        }

        ControlChannel? channel = null;
        bool counted = false;
        void Count(PeerRefusal refusal)
        {
            // Before the peer is told: by the time it learns of the refusal, it is counted.
            counted = true;
            Refused(remote, HandshakeStage.Tls, refusal.Reason, $"{refusal.Detail} ({refusal.Reason})", countAsAuth: true);
        }

        try
        {
            client.NoDelay = true;
            channel = await ControlChannel.AcceptAsync(client, Settings, Count, _stop.Token).ConfigureAwait(false);
            channel.Lease = lease;
            lease = null; // the channel gives it back
            string? identity = null;
            var secured = channel;
            var offer = await HandshakeExchange.ReceiveOfferAsync(channel.Stream, _kind, Settings.HandshakeTimeout, _stop.Token,
                channel.Secure ? async o => identity = await AuthorizeAsync(secured, o, Count).ConfigureAwait(false) : null).ConfigureAwait(false);

            var flowClass = ResolveFlowClass(offer);
            SocketTuning.Apply(client, flowClass, Logger);
            var connection = await CompleteAsync(channel, offer with { NodeName = identity ?? offer.NodeName }, flowClass,
                Settings with { Generation = offer.Generation }, _stop.Token).ConfigureAwait(false);
            channel = null; // the connection owns it now
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            if (!counted)
            {
                Refused(remote, stage, e.AuthFailure ?? stage.Name(), e.Message, countAsAuth: e.AuthFailure is not null);
            }

            channel?.Dispose();
            client.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException or TransferException)
        {
            channel?.Dispose();
            client.Dispose();
        }
        finally
        {
            lease?.Dispose();
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>With mutual TLS: the peer's certificate must name an allowed peer, and the node name of its offer must be
    /// that name (so a peer cannot pass itself off as another whose name it lacks). Refused peers get a rejection inside
    /// the TLS session. Returns the peer's identity.</summary>
    private async Task<string> AuthorizeAsync(ControlChannel channel, HandshakeMessage offer, Action<PeerRefusal> refused)
    {
        var allowed = Settings.Security!.AllowedPeers;
        string names = string.Join(", ", channel.PeerIdentities);
        PeerRefusal? refusal = null;
        var identity = channel.PeerIdentities.FirstOrDefault(n => CertificateNames.Same(n, offer.NodeName));
        if (!channel.PeerIdentities.Any(allowed.Allows))
        {
            refusal = new PeerRefusal(AuthFailures.PeerNotAllowed, $"certificate of {names} is valid, but no name of it is an allowed peer ({allowed})");
        }
        else if (identity is null || !allowed.Allows(identity))
        {
            refusal = new PeerRefusal(AuthFailures.NameMismatch,
                $"the handshake names node '{ControlChannel.Printable(offer.NodeName)}', which is not an allowed name of its certificate ({names})");
        }

        if (refusal is { } r)
        {
            refused(r);
            await HandshakeExchange.TryRejectAsync(channel.Stream, _kind, HandshakeRejectReason.NotAuthorized, Settings.HandshakeTimeout, _stop.Token).ConfigureAwait(false);
            throw ControlChannel.Refused(r.Reason, r.Detail);
        }

        return identity!;
    }

    /// <summary>Counts a refused connection (and, for an authentication failure, its reason) and logs it once per peer
    /// address and reason per interval.</summary>
    private void Refused(EndPoint? remote, HandshakeStage stage, string reason, string message, bool countAsAuth)
    {
        Metrics?.HandshakeFailed(stage);

        if (countAsAuth)
        {
            Metrics?.AuthFailed("in", reason);
        }

        string address = remote is IPEndPoint ip ? ip.Address.ToString() : remote?.ToString() ?? "unknown";
        if (Logger is not null && _refusals.ShouldLog(address + "|" + reason, out int suppressed))
        {
            TransferLog.Refused(Logger, address, stage.Name(), reason, message, suppressed);
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
