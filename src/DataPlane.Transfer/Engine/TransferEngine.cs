using System.Collections.Concurrent;
using System.Net;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Transfer.Engine;

/// <summary>The daemon's transfer engine: picks the transport once at start-up (RDMA when the RDMA factory
/// finds a usable device and the configuration allows it, else TCP — logged and exported, never silent),
/// listens for peers, keeps one connection per peer and flow class and re-handshakes a connection that
/// failed, and owns a registered buffer pool and a registration cache.</summary>
public sealed class TransferEngine : IAsyncDisposable
{
    private readonly TransferOptions _options;
    private readonly TransferMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Peer, string FlowClass), PeerSlot> _peers = new();
    private readonly ConcurrentDictionary<string, TransportKind> _announced = new(StringComparer.Ordinal);
    private readonly Lazy<RegisteredBufferPool> _pool;
    private ITransferListener? _listener;
    private int _disposed;

    /// <summary>Creates the engine and chooses its transport.</summary>
    /// <param name="options">Validated options.</param>
    /// <param name="rdmaFactory">Opens the RDMA transport, or returns null when no usable device exists. Null:
    /// RDMA is not available in this build.</param>
    /// <param name="metrics">Where to count (null: not counted).</param>
    /// <param name="loggerFactory">Logging (null: none).</param>
    /// <param name="timeProvider">Clock for timeouts (null: the system clock).</param>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="TransferException">RDMA forced but unavailable (<see cref="TransferStatus.Unavailable"/>).</exception>
    public TransferEngine(
        TransferOptions options,
        Func<ITransport?>? rdmaFactory = null,
        TransferMetrics? metrics = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid transfer options: " + string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _metrics = metrics;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("DataPlane.Transfer");
        (Transport, string reason) = Choose(options.Transport, rdmaFactory, () => new TcpTransport(_logger, metrics, timeProvider));
        TransferLog.TransportSelected(_logger, Transport.Kind.Name(), options.Transport.ToString().ToLowerInvariant(), reason);
        Registrations = new RegistrationCache(Transport);
        _pool = new Lazy<RegisteredBufferPool>(() => new RegisteredBufferPool(Transport, options.PoolBufferBytes, options.PoolBufferCount));
    }

    /// <summary>The chosen transport.</summary>
    public ITransport Transport { get; }

    /// <summary>The chosen transport's kind.</summary>
    public TransportKind Kind => Transport.Kind;

    /// <summary>Registers caller buffers once each.</summary>
    public RegistrationCache Registrations { get; }

    /// <summary>The engine's registered buffer pool (allocated and registered on first use).</summary>
    public RegisteredBufferPool Pool => _pool.Value;

    /// <summary>The listener's address once <see cref="Listen"/> ran.</summary>
    public IPEndPoint? ListenEndPoint => _listener?.LocalEndPoint;

    /// <summary>Starts listening on <see cref="TransferOptions.ListenEndPoint"/> (or <paramref name="endpoint"/>),
    /// advertising <paramref name="exposedRegion"/> in every handshake.</summary>
    public IPEndPoint Listen(RegisteredBuffer? exposedRegion = null, IPEndPoint? endpoint = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_listener is not null)
        {
            throw new InvalidOperationException("the engine is listening already");
        }

        var settings = _options.Connection(_options.GetFlowClass(null), 0, exposedRegion);
        _listener = Transport.Listen(endpoint ?? _options.ListenEndPoint, settings);
        return _listener.LocalEndPoint;
    }

    /// <summary>The next peer that connected to <see cref="Listen"/>.</summary>
    public async ValueTask<ITransferConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var listener = _listener ?? throw new InvalidOperationException("call Listen first");
        var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        Announce(connection);
        return connection;
    }

    /// <summary>Opens a new connection to <paramref name="endpoint"/> (no caching). With TLS, <paramref name="peer"/> is the
    /// identity the peer's certificate and answer must carry (required then).</summary>
    public async Task<ITransferConnection> ConnectAsync(
        IPEndPoint endpoint, string? flowClass = null, RegisteredBuffer? exposedRegion = null, uint generation = 0, string? peer = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var settings = _options.Connection(_options.GetFlowClass(flowClass), generation, exposedRegion, peer);
        var connection = await Transport.ConnectAsync(endpoint, settings, cancellationToken).ConfigureAwait(false);
        Announce(connection);
        return connection;
    }

    /// <summary>The connection to <paramref name="peer"/> for <paramref name="flowClass"/>: the cached one while it
    /// works, else a new one — after a failure with a re-handshake (next generation, flagged as such). With TLS the
    /// peer's certificate must name <paramref name="peer"/>.</summary>
    public async Task<ITransferConnection> GetConnectionAsync(
        string peer, IPEndPoint endpoint, string? flowClass = null, RegisteredBuffer? exposedRegion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(endpoint);
        string classKey = flowClass ?? _options.DefaultFlowClass;
        var slot = _peers.GetOrAdd((peer, classKey), static _ => new PeerSlot());
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (slot.Connection is { Fault: null } alive)
            {
                return alive;
            }

            uint generation = 0;
            if (slot.Connection is { } failed)
            {
                generation = failed.Generation + 1;
                TransferLog.Rehandshake(_logger, peer, endpoint, failed.Fault?.Name() ?? "failure", generation);
                await failed.DisposeAsync().ConfigureAwait(false);
                slot.Connection = null;
            }

            slot.Connection = await ConnectAsync(endpoint, classKey, exposedRegion, generation, _options.Security is null ? null : peer,
                cancellationToken).ConfigureAwait(false);
            return slot.Connection;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>Closes connections, the listener, the pool and the transport.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var slot in _peers.Values)
        {
            if (slot.Connection is not null)
            {
                await slot.Connection.DisposeAsync().ConfigureAwait(false);
            }

            slot.Gate.Dispose();
        }

        Registrations.Dispose();
        if (_pool.IsValueCreated)
        {
            _pool.Value.Dispose();
        }

        await Transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The transport for <paramref name="mode"/>, and why it was chosen.</summary>
    internal static (ITransport Transport, string Reason) Choose(TransportMode mode, Func<ITransport?>? rdmaFactory, Func<ITransport> tcpFactory)
    {
        if (mode == TransportMode.Tcp)
        {
            return (tcpFactory(), "forced by configuration");
        }

        ITransport? rdma = null;
        string why;
        try
        {
            rdma = rdmaFactory?.Invoke();
            why = rdmaFactory is null ? "RDMA support is not built in" : "no usable RDMA device";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            why = $"RDMA failed to open: {e.Message}";
        }

        if (rdma is not null)
        {
            return (rdma, mode == TransportMode.Rdma ? "forced by configuration" : "usable RDMA device found");
        }

        if (mode == TransportMode.Rdma)
        {
            throw new TransferException(TransferStatus.Unavailable, $"transport rdma is configured but unavailable: {why}");
        }

        return (tcpFactory(), $"fallback: {why}");
    }

    /// <summary>Logs (once per peer and transport) and exports which transport a peer uses.</summary>
    private void Announce(ITransferConnection connection)
    {
        _metrics?.PeerTransport(connection.PeerName, connection.Kind);
        if (!_announced.TryGetValue(connection.PeerName, out var previous) || previous != connection.Kind)
        {
            _announced[connection.PeerName] = connection.Kind;
            TransferLog.PeerTransport(_logger, connection.PeerName, connection.RemoteEndPoint, connection.Kind.Name(), connection.FlowClass.Name,
                connection.Protection.Name());
        }
    }

    private sealed class PeerSlot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ITransferConnection? Connection { get; set; }
    }
}
