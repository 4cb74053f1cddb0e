using System.Net;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Messaging;
using Grpc.Core;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DataPlane.Spillover;

/// <summary>The peers batches spill to, over the transfer engine (RDMA or TCP) with mutual TLS: each peer is reached
/// by its configured name, which its certificate must carry. Each peer takes at most
/// <c>MaxBatchesPerPeer</c> batches at once; a batch goes to the least busy healthy peer. A peer whose connection
/// fails is left alone for the cooldown, then tried again (the engine re-handshakes). A batch the peer could not run
/// fails with UNAVAILABLE naming the peer; the peer's own errors (its queue full, a deadline) come back with their
/// gRPC status.</summary>
internal sealed partial class PeerSpillTarget : ISpillTarget, IAsyncDisposable
{
    private readonly TransferEngine _engine;
    private readonly Peer[] _peers;
    private readonly int _maxPerPeer;
    private readonly TimeSpan _cooldown;
    private readonly ILogger _log;
    private readonly Gauge _up;
    private readonly RpcLimits _limits;
    private int _reserved;

    public PeerSpillTarget(TransferEngine engine, IReadOnlyList<TransferPeer> peers, int maxPerPeer, TimeSpan cooldown, RpcLimits limits,
        CollectorRegistry metrics, ILogger log)
    {
        _engine = engine;
        _limits = limits;
        _peers = peers.Select(p => new Peer(p)).ToArray();
        _maxPerPeer = maxPerPeer;
        _cooldown = cooldown;
        _log = log;
        _up = Prometheus.Metrics.WithCustomRegistry(metrics).CreateGauge("dataplane_spill_peer_up",
            "1 while a spill peer is usable, 0 during its cooldown after a failure.", "peer");
        foreach (var peer in _peers)
        {
            _up.WithLabels(peer.Name).Set(1);
        }
    }

    public bool IsAvailable => _peers.Any(p => p.Usable);

    public bool TryAcquire()
    {
        int capacity = _peers.Count(p => p.Usable) * _maxPerPeer;
        while (true)
        {
            int reserved = Volatile.Read(ref _reserved);
            if (reserved >= capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _reserved, reserved + 1, reserved) == reserved)
            {
                return true;
            }
        }
    }

    public async Task<SpillResult> InferAsync(ModelInferRequest batch, DateTime? deadline, CancellationToken cancellationToken)
    {
        var peer = _peers.Where(p => p.Usable).MinBy(p => Volatile.Read(ref p.InFlight)) ?? _peers.MinBy(p => p.DownUntil)!;
        Interlocked.Increment(ref peer.InFlight);
        try
        {
            var channel = await ChannelAsync(peer, cancellationToken).ConfigureAwait(false);
            byte[] answer = await channel.CallAsync(SpillProtocol.InferMethod, SpillProtocol.EncodeRequest(batch, deadline), cancellationToken).ConfigureAwait(false);
            return new SpillResult(ModelInferResponse.Parser.ParseFrom(answer), peer.Name);
        }
        catch (RpcFaultException e)
        {
            throw new RpcException(new Status((StatusCode)e.Status, $"peer {peer.Name}: {e.Message}"));
        }
        catch (Exception e) when (e is TransferException or InvalidProtocolBufferException or IOException)
        {
            peer.DownUntil = Environment.TickCount64 + (long)_cooldown.TotalMilliseconds;
            _up.WithLabels(peer.Name).Set(0);
            Log.PeerFailed(_log, peer.Name, e.Message, _cooldown.TotalSeconds);
            throw new RpcException(new Status(StatusCode.Unavailable, $"peer {peer.Name}: {e.Message}"));
        }
        finally
        {
            Interlocked.Decrement(ref peer.InFlight);
            Interlocked.Decrement(ref _reserved);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _peers)
        {
            if (peer.Channel is { } channel)
            {
                await channel.DisposeAsync().ConfigureAwait(false);
            }

            peer.Gate.Dispose();
        }
    }

    /// <summary>The peer's channel: the open one while it works, else a new connection (a re-handshake after a failure).</summary>
    private async Task<RpcChannel> ChannelAsync(Peer peer, CancellationToken cancellationToken)
    {
        await peer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (peer.Channel is { Ended: null } open)
            {
                return open;
            }

            if (peer.Channel is { } ended)
            {
                await ended.DisposeAsync().ConfigureAwait(false);
                peer.Channel = null;
            }

            var endpoint = await ResolveAsync(peer.Config, cancellationToken).ConfigureAwait(false);
            var connection = await _engine.GetConnectionAsync(peer.Name, endpoint, cancellationToken: cancellationToken).ConfigureAwait(false);
            peer.Channel = new RpcChannel(connection, limits: _limits);
            peer.DownUntil = 0;
            _up.WithLabels(peer.Name).Set(1);
            Log.PeerConnected(_log, peer.Name, connection.Kind.Name(), connection.Generation);

            return peer.Channel;
        }
        finally
        {
            peer.Gate.Release();
        }
    }

    /// <summary>The peer's address now: its host as given, or resolved (DNS) on each new connection. A resolution
    /// failure is a connection failure (the batch comes home, the peer cools down).</summary>
    private static async Task<IPEndPoint> ResolveAsync(TransferPeer peer, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(peer.Host, out var address))
        {
            return new IPEndPoint(address, peer.Port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(peer.Host, cancellationToken).ConfigureAwait(false);
            return addresses.Length > 0
                ? new IPEndPoint(addresses[0], peer.Port)
                : throw new TransferException(TransferStatus.Unavailable, $"host {peer.Host} has no address");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new TransferException(TransferStatus.Unavailable, $"resolving {peer.Host}: {e.Message}", e);
        }
    }

    private sealed class Peer(TransferPeer config)
    {
        public int InFlight;

        public TransferPeer Config { get; } = config;

        /// <summary>The peer's certificate name: the <c>peer</c> label and what its certificate must carry.</summary>
        public string Name { get; } = config.Name;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public RpcChannel? Channel { get; set; }

        public long DownUntil { get; set; }

        public bool Usable => DownUntil == 0 || Environment.TickCount64 >= DownUntil;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Spill peer {Peer} failed ({Reason}); no batches go there for {Seconds} s")]
        public static partial void PeerFailed(ILogger logger, string peer, string reason, double seconds);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Spilling to peer {Peer} over {Transport} (connection generation {Generation})")]
        public static partial void PeerConnected(ILogger logger, string peer, string transport, uint generation);
    }
}
