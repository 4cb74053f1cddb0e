using DataPlane.Batching.Frontend;
using DataPlane.Batching.Upstream;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Messaging;
using DataPlane.Transfer.Rdma;
using DataPlane.Transfer.Security;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DataPlane.Spillover;

/// <summary>The daemon's transfer engine and spillover: it accepts peers' spilled batches and runs each through this
/// host's own front end (validation, batcher, Triton), marked so that it is never spilled on; and it offers the peers of
/// <see cref="TransferSettings.Peers"/> to the batchers as a spill target. The daemon creates it before the model
/// registry, which takes <see cref="Target"/>, and starts serving once its front end exists.</summary>
public sealed partial class SpillService : IAsyncDisposable
{
    private readonly TransferEngine _engine;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RpcChannel> _served = [];
    private readonly Lock _gate = new();
    private readonly RpcLimits _limits;
    private readonly PeerSpillTarget? _target;
    private Func<InferenceServer>? _frontend;
    private Task? _acceptLoop;
    private int _disposed;

    private SpillService(TransferEngine engine, PeerSpillTarget? target, RpcLimits limits, TransferTlsFiles tls, ILogger log)
    {
        _engine = engine;
        _target = target;
        _limits = limits;
        Tls = tls;
        _log = log;
    }

    /// <summary>The TLS material in use (certificate, CA), reloaded when the files change.</summary>
    internal TransferTlsFiles Tls { get; }

    /// <summary>The spill target for the batchers (the peers of <see cref="TransferSettings.Peers"/>), or null without peers.</summary>
    public ISpillTarget? Target => _target;

    /// <summary>Where peers connect, once listening.</summary>
    public System.Net.IPEndPoint? ListenEndPoint => _engine.ListenEndPoint;

    /// <summary>The revocation list peers' certificates are checked against (<c>Transfer:Tls:Crl</c>), when configured.</summary>
    public RevocationListReloader? Revocation => Tls.Revocation;

    /// <summary>The chosen transport.</summary>
    public TransportKind Kind => _engine.Kind;

    /// <summary>Creates the engine (RDMA on the configured device when usable, else TCP) with mutual TLS from the
    /// configured files, and the spill target; serving starts with <see cref="Serve"/>.</summary>
    /// <exception cref="ConfigurationException">The TLS files cannot be used (checked at bind time already; this covers a
    /// file that changed in between).</exception>
    /// <param name="settings">The Transfer section.</param>
    /// <param name="topology">The host, for RDMA placement near the GPUs.</param>
    /// <param name="metrics">Where the engine's metrics go.</param>
    /// <param name="loggers">Loggers.</param>
    /// <param name="admitConnection">The transfer listener's connection cap (a lease per connection, null when full).</param>
    public static SpillService Create(TransferSettings settings, DataPlane.Topology.Model.HostTopology? topology, CollectorRegistry metrics,
        ILoggerFactory loggers, Func<IDisposable?>? admitConnection = null)
    {
        var log = loggers.CreateLogger("DataPlane.Host.Spillover");
        TransferTlsFiles tls;
        try
        {
            tls = new TransferTlsFiles(settings.CertificatePath!, settings.KeyPath!, settings.CaPath!, settings.CrlPath,
                loggers.CreateLogger("DataPlane.Host.Spillover.Revocation"));
        }
        catch (Exception e) when (e is TransferSecurityException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or FormatException)
        {
            throw new ConfigurationException($"Transfer:Tls: {e.Message}");
        }

        var transferMetrics = new TransferMetrics(metrics);
        var limits = new RpcLimits(settings.Rpc.MaxMessageBytes, settings.Rpc.BytesPerConnection, settings.Rpc.BytesPerProcess,
            settings.Rpc.PartialMessagesPerConnection, settings.Rpc.RequestsPerConnection)
        {
            Metrics = transferMetrics,
            Logger = loggers.CreateLogger("DataPlane.Transfer"),
        };
        var (rdmaOptions, placement) = RdmaPlacement.NearGpu(settings.Rdma, topology, settings.NearGpu);
        if (placement is not null)
        {
            Log.RdmaPlacement(log, placement);
        }

        var rdma = RdmaTransport.Factory(rdmaOptions, transferMetrics, loggers.CreateLogger("DataPlane.Transfer.Rdma"));
        var engine = new TransferEngine(settings.Engine with { Security = tls.Security(settings), AdmitConnection = admitConnection }, rdma,
            transferMetrics, loggers);
        var target = settings.Peers.Count > 0
            ? new PeerSpillTarget(engine, settings.Peers, settings.MaxBatchesPerPeer, settings.PeerCooldown, limits, metrics, log)
            : null;
        Log.Secured(log, settings.Engine.NodeName, settings.AllowedPeers.ToString(),
            settings.Encryption == TransferEncryption.Tls ? "inside TLS" : "in clear after the TLS handshake (Transfer:Encryption=none)");
        return new SpillService(engine, target, limits, tls, log);
    }

    /// <summary>Starts accepting peers (when a listen address is configured); <paramref name="frontend"/> runs their batches.</summary>
    public void Serve(TransferSettings settings, Func<InferenceServer> frontend)
    {
        _frontend = frontend;
        if (settings.Listen is null)
        {
            return;
        }

        System.Net.IPEndPoint endpoint;
        try
        {
            endpoint = _engine.Listen();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new ConfigurationException($"Transfer:Listen: cannot listen on {settings.Listen}: {e.Message}");
        }

        Log.Listening(_log, endpoint, _engine.Kind.Name());
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Stops accepting, closes the peers' and our channels and the engine; a second call does nothing (the
    /// daemon stops it before its container, which disposes it again).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_target is not null)
        {
            await _target.DisposeAsync().ConfigureAwait(false);
        }

        RpcChannel[] served;
        lock (_gate)
        {
            served = [.. _served];
        }

        foreach (var channel in served)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }

        await _engine.DisposeAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            ITransferConnection connection;
            try
            {
                connection = await _engine.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (TransferException e)
            {
                // A peer that failed its handshake; the engine counted it. Keep accepting the others.
                Log.AcceptFailed(_log, e.Message);
                continue;
            }

            // The listener let in only peers whose certificate names an allowed peer (Transfer:AllowedPeers).
            Log.PeerConnected(_log, connection.PeerName, connection.Kind.Name(), connection.Protection.Name());
            var channel = new RpcChannel(connection, HandleAsync, _limits);
            List<RpcChannel> ended;
            lock (_gate)
            {
                ended = _served.FindAll(c => c.Ended is not null);
                _served.RemoveAll(ended.Contains);
                _served.Add(channel);
            }

            // Peers that went away (and reconnected with a new generation) leave ended channels: release their
            // connections now rather than at shutdown.
            foreach (var old in ended)
            {
                await old.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<RpcReply> HandleAsync(ushort method, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (method != SpillProtocol.InferMethod)
        {
            return RpcReply.Fail((int)StatusCode.Unimplemented, $"spill method {method} is not served here");
        }

        try
        {
            var (batch, deadline) = SpillProtocol.DecodeRequest(payload);
            var response = await _frontend!().InferAsync(batch, deadline, cancellationToken, fromPeer: true).ConfigureAwait(false);
            return new RpcReply(response.ToByteArray());
        }
        catch (InvalidDataException e)
        {
            return RpcReply.Fail((int)StatusCode.InvalidArgument, e.Message);
        }
        catch (RpcException e)
        {
            return RpcReply.Fail((int)e.StatusCode, e.Status.Detail);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "Taking spilled batches from peers at {EndPoint} over {Transport}")]
        public static partial void Listening(ILogger logger, System.Net.IPEndPoint endPoint, string transport);

        [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "Spill peer {Peer} connected over {Transport} ({Protection})")]
        public static partial void PeerConnected(ILogger logger, string peer, string transport, string protection);

        [LoggerMessage(EventId = 415, Level = LogLevel.Information,
            Message = "Spill path runs mutual TLS as {Node}; peers allowed to spill here: {Allowed}; TCP data {Data}")]
        public static partial void Secured(ILogger logger, string node, string allowed, string data);

        [LoggerMessage(EventId = 413, Level = LogLevel.Information, Message = "RDMA device for the transfer engine: {Placement}")]
        public static partial void RdmaPlacement(ILogger logger, string placement);

        [LoggerMessage(EventId = 412, Level = LogLevel.Warning, Message = "A peer's transfer connection failed at handshake: {Reason}")]
        public static partial void AcceptFailed(ILogger logger, string reason);
    }
}
