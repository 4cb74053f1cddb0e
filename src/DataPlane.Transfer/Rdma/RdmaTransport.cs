using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DataPlane.Interop.Verbs;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Rdma;

/// <summary>The RDMA transport: one device context and protection domain, memory regions for registrations,
/// and one RC queue pair per connection (<see cref="RdmaConnection"/>). Connections are set up over a TCP
/// control connection with the shared <see cref="HandshakeExchange"/>: the offer and answer carry QPN, PSN, GID,
/// GID index, MTU, traffic class/SL, the exposed region and the message size limit; each side then walks its QP
/// RESET→INIT→RTR→RTS and the connecting side confirms with Ready. The control connection stays open: it carries
/// SEND credits and tells each side when its peer is gone.</summary>
public sealed class RdmaTransport : ITransport
{
    private readonly ConcurrentDictionary<RdmaConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<RdmaTransferListener, byte> _listeners = new();
    private readonly ConcurrentDictionary<RdmaRegisteredBuffer, byte> _regions = new();
    private readonly VerbsContext _context;
    private long _registeredBytes;
    private int _disposed;

    private RdmaTransport(VerbsLibrary verbs, VerbsContext context, RdmaSelection selection, RdmaOptions options,
        TransferMetrics? metrics, ILogger? logger, TimeProvider time)
    {
        Library = verbs;
        _context = context;
        Selection = selection;
        Options = options;
        Metrics = metrics;
        Logger = logger;
        Time = time;
        var attributes = context.QueryDevice();
        MaxReadAtomic = (byte)Math.Clamp(Math.Min(options.MaxReadAtomic, attributes.MaxQpReadAtomic), 1, 255);
        MaxInitReadAtomic = (byte)Math.Clamp(Math.Min(options.MaxReadAtomic, attributes.MaxQpInitReadAtomic), 1, 255);
        ProtectionDomain = context.AllocateProtectionDomain();
    }

    /// <inheritdoc/>
    public TransportKind Kind => TransportKind.Rdma;

    /// <inheritdoc/>
    public long RegisteredBytes => Interlocked.Read(ref _registeredBytes);

    /// <summary>The device, port and GID in use, and the candidates passed over.</summary>
    public RdmaSelection Selection { get; }

    /// <summary>The options the transport was opened with.</summary>
    public RdmaOptions Options { get; }

    internal VerbsLibrary Library { get; }

    internal ProtectionDomain ProtectionDomain { get; }

    internal VerbsContext Context => _context;

    internal TransferMetrics? Metrics { get; }

    internal ILogger? Logger { get; }

    internal TimeProvider Time { get; }

    /// <summary>READs this side accepts in flight per QP (its max_dest_rd_atomic).</summary>
    internal byte MaxReadAtomic { get; }

    /// <summary>READs this side may issue per QP (bounded by max_qp_init_rd_atom).</summary>
    internal byte MaxInitReadAtomic { get; }

    /// <summary>Opens the library, picks a device/port/GID and opens the device.</summary>
    /// <returns>False with <paramref name="reason"/> when the library, a device or a usable GID is missing.</returns>
    public static bool TryOpen(RdmaOptions options, TransferMetrics? metrics, ILogger? logger, out RdmaTransport? transport, out string reason,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        transport = null;
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            reason = "invalid RDMA options: " + string.Join("; ", errors);
            return false;
        }

        if (!VerbsLibrary.TryOpen(options.LibraryPath, out var verbs, out reason))
        {
            return false;
        }

        IReadOnlyList<VerbsDeviceInfo> devices;
        try
        {
            devices = verbs.GetDevices();
        }
        catch (VerbsException e)
        {
            reason = $"listing RDMA devices failed: {e.Message}";
            return false;
        }

        var selection = RdmaDeviceSelector.Select(devices, options, out reason);
        if (selection is null)
        {
            return false;
        }

        if (logger is not null)
        {
            foreach (string rejection in selection.Rejections)
            {
                RdmaLog.Rejected(logger, rejection);
            }
        }

        VerbsContext? context = null;
        try
        {
            context = verbs.OpenDevice(selection.Device);
            transport = new RdmaTransport(verbs, context, selection, options, metrics, logger, timeProvider ?? TimeProvider.System);
        }
        catch (VerbsException e)
        {
            context?.Dispose();
            reason = $"opening {selection.Device} failed: {e.Message}";
            return false;
        }

        if (logger is not null)
        {
            RdmaLog.Opened(logger, reason);
        }

        return true;
    }

    /// <summary>The engine's RDMA factory: opens the transport, or returns null (logging why, once) when the
    /// library, a device or a usable GID is missing, so the engine falls back to TCP.</summary>
    public static Func<ITransport?> Factory(RdmaOptions options, TransferMetrics? metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        int logged = 0;
        return () =>
        {
            if (TryOpen(options, metrics, logger, out var transport, out string reason))
            {
                return transport;
            }

            if (Interlocked.Exchange(ref logged, 1) == 0)
            {
                RdmaLog.Unavailable(logger, reason);
            }

            return null;
        };
    }

    /// <inheritdoc/>
    public RegisteredBuffer Register(PinnedBuffer memory, RegionAccess access)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ObjectDisposedException.ThrowIf(memory.IsDisposed, memory);
        var verbsAccess = ToMemoryAccess(access);
        MemoryRegion region;
        try
        {
            region = ProtectionDomain.Register(memory.Address, memory.Length, verbsAccess);
        }
        catch (VerbsException e)
        {
            throw new TransferException(TransferStatus.LocalError, $"registering {memory.Length} bytes failed: {e.Message}", e);
        }

        var registered = new RdmaRegisteredBuffer(this, memory, access, region);
        _regions[registered] = 0;
        Interlocked.Add(ref _registeredBytes, memory.Length);
        Metrics?.RegisteredBytesChanged(TransportKind.Rdma, memory.Length);
        return registered;
    }

    /// <inheritdoc/>
    public ITransferListener Listen(IPEndPoint endpoint, ConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(settings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        settings.ThrowIfInvalid();
        var listener = new RdmaTransferListener(this, endpoint, settings);
        _listeners[listener] = 0;
        return listener;
    }

    /// <inheritdoc/>
    public async Task<ITransferConnection> ConnectAsync(IPEndPoint endpoint, ConnectionSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(settings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        settings.ThrowIfInvalidToConnect();
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        RdmaConnection? connection = null;
        ControlChannel? channel = null;
        try
        {
            using (var connectTimer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                if (settings.ConnectTimeout != Timeout.InfiniteTimeSpan)
                {
                    connectTimer.CancelAfter(settings.ConnectTimeout);
                }

                try
                {
                    await socket.ConnectAsync(endpoint, connectTimer.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TransferException(HandshakeStage.Connect, $"no connection to {endpoint} within {settings.ConnectTimeout.TotalSeconds:0.###} s", e);
                }
                catch (SocketException e)
                {
                    throw new TransferException(HandshakeStage.Connect, $"connecting to {endpoint}: {e.Message}", e);
                }
            }

            socket.NoDelay = true;
            SocketTuning.Apply(socket, settings.FlowClass, Logger);
            // Authenticate first: the queue pair is created only for a peer whose certificate checked out.
            channel = await ControlChannel.ConnectAsync(socket, settings, cancellationToken).ConfigureAwait(false);
            connection = new RdmaConnection(this, settings, settings.FlowClass);
            var offer = LocalMessage(HandshakeMessageType.Offer, settings, settings.FlowClass, connection);
            var answer = await HandshakeExchange.OfferAsync(channel.Stream, offer, settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
            answer = TcpTransport.CheckAnswer(channel, settings, answer);
            connection.Connect(answer);
            await HandshakeExchange.SendAsync(channel.Stream, new HandshakeMessage { Type = HandshakeMessageType.Ready, Transport = TransportKind.Rdma },
                settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
            Started(connection, channel);
            return connection;
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            HandshakeFailed(endpoint, stage, e.Message);
            if (e.AuthFailure is { } reason)
            {
                Metrics?.AuthFailed("out", reason);
            }

            connection?.Destroy();
            channel?.Dispose();
            socket.Dispose();
            throw;
        }
        catch
        {
            connection?.Destroy();
            channel?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var listener in _listeners.Keys)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in _connections.Keys)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var region in _regions.Keys)
        {
            region.Dispose();
        }

        // Children first: MRs and QPs are gone, so the PD and then the context can go.
        ProtectionDomain.Dispose();
        _context.Dispose();
    }

    /// <summary>The handshake message describing this side of <paramref name="connection"/>.</summary>
    internal HandshakeMessage LocalMessage(HandshakeMessageType type, ConnectionSettings settings, FlowClass flowClass, RdmaConnection connection)
    {
        var tcp = TcpTransport.LocalMessage(type, settings, flowClass);
        Span<byte> gid = stackalloc byte[VerbsGid.Size];
        Selection.Gid.Gid.WriteTo(gid);
        return tcp with
        {
            Transport = TransportKind.Rdma,
            QueuePairNumber = connection.QueuePair.QpNumber,
            PacketSequenceNumber = connection.SendPsn,
            Gid = BinaryPrimitives.ReadUInt128BigEndian(gid),
            GidIndex = (byte)Selection.Gid.Index,
            Lid = Selection.Lid,
            // The capped MTU, so both sides derive the same path MTU from min(local, peer).
            Mtu = Math.Min((byte)Selection.ActiveMtu, Options.MtuCap),
            MaxReadAtomic = MaxReadAtomic,
        };
    }

    internal static VerbsGid GidOf(UInt128 value)
    {
        Span<byte> bytes = stackalloc byte[VerbsGid.Size];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new VerbsGid(bytes);
    }

    internal static MemoryAccess ToMemoryAccess(RegionAccess access)
    {
        var result = (MemoryAccess)(int)(access & RegionAccess.All);
        // Verbs refuse remote write without local write.
        return (result & MemoryAccess.RemoteWrite) != 0 ? result | MemoryAccess.LocalWrite : result;
    }

    internal void Started(RdmaConnection connection, ControlChannel control)
    {
        _connections[connection] = 0;
        Metrics?.ConnectionsChanged(TransportKind.Rdma, 1);
        connection.Start(control);
    }

    internal void HandshakeFailed(EndPoint? endpoint, HandshakeStage stage, string message)
    {
        Metrics?.HandshakeFailed(stage);
        if (Logger is not null)
        {
            TransferLog.HandshakeFailed(Logger, endpoint, stage.Name(), message);
        }
    }

    internal void Closed(RdmaConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            Metrics?.ConnectionsChanged(TransportKind.Rdma, -1);
        }
    }

    internal void Closed(RdmaTransferListener listener) => _listeners.TryRemove(listener, out _);

    internal void Deregister(RdmaRegisteredBuffer region)
    {
        if (_regions.TryRemove(region, out _))
        {
            region.Region.Dispose();
            Interlocked.Add(ref _registeredBytes, -region.Length);
            Metrics?.RegisteredBytesChanged(TransportKind.Rdma, -region.Length);
        }
    }
}

/// <summary>A registration with the RDMA transport: one memory region (lkey, rkey).</summary>
internal sealed class RdmaRegisteredBuffer : RegisteredBuffer
{
    private readonly RdmaTransport _transport;

    public RdmaRegisteredBuffer(RdmaTransport transport, PinnedBuffer memory, RegionAccess access, MemoryRegion region)
        : base(memory, access, region.Lkey, region.Rkey)
    {
        _transport = transport;
        Region = region;
    }

    public override TransportKind Kind => TransportKind.Rdma;

    public MemoryRegion Region { get; }

    protected override void Release() => _transport.Deregister(this);
}
