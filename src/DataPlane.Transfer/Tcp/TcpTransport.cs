using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Tcp;

/// <summary>The TCP transport: RDMA semantics emulated over one persistent socket per connection. A
/// registration is an entry in this transport's region table; its token plays the rkey and every incoming
/// WRITE or READ is checked against it (unknown token, missing access or a range outside the region →
/// <see cref="TransferStatus.RemoteAccessError"/> for the initiator; the connection carries on). Incoming
/// WRITEs are received straight into the registered memory, and READ responses are sent straight from it. With
/// <see cref="ConnectionSettings.Security"/> every connection is mutually authenticated by TLS 1.3 and its data travels
/// inside the TLS session (or in clear after the handshake when both sides turned encryption off).</summary>
public sealed class TcpTransport : ITransport
{
    private readonly ConcurrentDictionary<uint, TcpRegisteredBuffer> _regions = new();
    private readonly ConcurrentDictionary<TcpTransferConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<TcpTransferListener, byte> _listeners = new();
    private uint _nextKey;
    private long _registeredBytes;
    private int _disposed;

    /// <summary>Creates the transport.</summary>
    public TcpTransport(ILogger? logger = null, TransferMetrics? metrics = null, TimeProvider? timeProvider = null)
    {
        Logger = logger;
        Metrics = metrics;
        Time = timeProvider ?? TimeProvider.System;
        // Random first key, so a key from a previous run of the peer is unlikely to name a live region.
        _nextKey = (uint)RandomNumberGenerator.GetInt32(1, int.MaxValue);
    }

    /// <inheritdoc/>
    public TransportKind Kind => TransportKind.Tcp;

    /// <inheritdoc/>
    public long RegisteredBytes => Interlocked.Read(ref _registeredBytes);

    internal ILogger? Logger { get; }

    internal TransferMetrics? Metrics { get; }

    internal TimeProvider Time { get; }

    /// <inheritdoc/>
    public RegisteredBuffer Register(PinnedBuffer memory, RegionAccess access)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ObjectDisposedException.ThrowIf(memory.IsDisposed, memory);
        uint key;
        do
        {
            key = Interlocked.Increment(ref _nextKey);
        }
        while (key == 0 || _regions.ContainsKey(key));

        var registered = new TcpRegisteredBuffer(this, memory, access, key);
        _regions[key] = registered;
        Interlocked.Add(ref _registeredBytes, memory.Length);
        Metrics?.RegisteredBytesChanged(TransportKind.Tcp, memory.Length);
        return registered;
    }

    /// <inheritdoc/>
    public ITransferListener Listen(IPEndPoint endpoint, ConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(settings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        settings.ThrowIfInvalid();
        var listener = new TcpTransferListener(this, endpoint, settings);
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

            SocketTuning.Apply(socket, settings.FlowClass, Logger);
            channel = await ControlChannel.ConnectAsync(socket, settings, cancellationToken).ConfigureAwait(false);
            bool askClear = channel.Secure && settings.Security is { EncryptData: false };
            var offer = LocalMessage(HandshakeMessageType.Offer, settings, settings.FlowClass, askClear);
            var answer = await HandshakeExchange.OfferAsync(channel.Stream, offer, settings.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
            answer = CheckAnswer(channel, settings, answer);
            bool clear = channel.Secure && (answer.Flags & HandshakeFlags.ClearData) != 0;
            if (clear && !askClear)
            {
                throw new TransferException(HandshakeStage.Negotiate, "the peer answered with data in clear, but this side encrypts");
            }

            return Open(channel, clear, settings, settings.FlowClass, answer);
        }
        catch (TransferException e) when (e.Stage is { } stage)
        {
            Metrics?.HandshakeFailed(stage);
            if (e.AuthFailure is { } reason)
            {
                Metrics?.AuthFailed("out", reason);
            }

            if (Logger is not null)
            {
                TransferLog.HandshakeFailed(Logger, endpoint, stage.Name(), e.Message);
            }

            channel?.Dispose();
            socket.Dispose();
            throw;
        }
        catch
        {
            channel?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Over TLS, the answer's node name must be the peer this side meant to reach (its certificate names it
    /// already); the answer then carries that identity. Shared by both transports.</summary>
    internal static HandshakeMessage CheckAnswer(ControlChannel channel, ConnectionSettings settings, HandshakeMessage answer)
    {
        if (!channel.Secure)
        {
            return answer;
        }

        string expected = settings.ExpectedPeerName!;
        if (!CertificateNames.Same(answer.NodeName, expected))
        {
            throw ControlChannel.Refused(AuthFailures.NameMismatch,
                $"the peer's certificate names '{expected}', but its handshake names node '{ControlChannel.Printable(answer.NodeName)}'");
        }

        return answer with { NodeName = expected };
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

        foreach (var region in _regions.Values)
        {
            region.Dispose();
        }
    }

    /// <summary>The handshake message describing this side.</summary>
    internal static HandshakeMessage LocalMessage(HandshakeMessageType type, ConnectionSettings settings, FlowClass flowClass, bool clearData = false)
    {
        var region = settings.ExposedRegion;
        var flags = settings.Generation > 0 ? HandshakeFlags.Rehandshake : HandshakeFlags.None;
        if (clearData)
        {
            flags |= HandshakeFlags.ClearData;
        }

        if (region is not null)
        {
            if ((region.Access & RegionAccess.RemoteWrite) != 0)
            {
                flags |= HandshakeFlags.RegionWritable;
            }

            if ((region.Access & RegionAccess.RemoteRead) != 0)
            {
                flags |= HandshakeFlags.RegionReadable;
            }
        }

        return new HandshakeMessage
        {
            Type = type,
            Transport = TransportKind.Tcp,
            Flags = flags,
            Generation = settings.Generation,
            TrafficClass = flowClass.TrafficClass,
            ServiceLevel = (byte)flowClass.ServiceLevel,
            MaxMessageBytes = (uint)settings.MaxMessageBytes,
            RemoteKey = region?.RemoteKey ?? 0,
            RegionAddress = region is null ? 0 : (ulong)region.Address,
            RegionLength = region is null ? 0 : (ulong)region.Length,
            NodeName = settings.LocalName,
            FlowClass = flowClass.Name,
        };
    }

    /// <summary>Wraps a handshaken control channel into a running connection (which owns it from now on).</summary>
    internal TcpTransferConnection Open(ControlChannel channel, bool clear, ConnectionSettings settings, FlowClass flowClass, HandshakeMessage peer)
    {
        var connection = new TcpTransferConnection(this, channel, clear, settings, flowClass, peer);
        _connections[connection] = 0;
        Metrics?.ConnectionsChanged(TransportKind.Tcp, 1);
        connection.Start();
        return connection;
    }

    internal void Closed(TcpTransferConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            Metrics?.ConnectionsChanged(TransportKind.Tcp, -1);
        }
    }

    internal void Closed(TcpTransferListener listener) => _listeners.TryRemove(listener, out _);

    internal bool TryGetRegion(uint key, out TcpRegisteredBuffer region) => _regions.TryGetValue(key, out region!);

    internal void Deregister(TcpRegisteredBuffer region)
    {
        if (_regions.TryRemove(new KeyValuePair<uint, TcpRegisteredBuffer>(region.RemoteKey, region)))
        {
            Interlocked.Add(ref _registeredBytes, -region.Length);
            Metrics?.RegisteredBytesChanged(TransportKind.Tcp, -region.Length);
        }
    }
}

/// <summary>A registration with the TCP transport.</summary>
internal sealed class TcpRegisteredBuffer : RegisteredBuffer
{
    private readonly TcpTransport _transport;

    public TcpRegisteredBuffer(TcpTransport transport, PinnedBuffer memory, RegionAccess access, uint key)
        : base(memory, access, localKey: 0, remoteKey: key) => _transport = transport;

    public override TransportKind Kind => TransportKind.Tcp;

    /// <summary>The offset of [address, address + length) in the region, or -1 when it is not inside it.</summary>
    public long OffsetOf(ulong address, uint length)
    {
        ulong start = (ulong)Address;
        if (address < start)
        {
            return -1;
        }

        ulong offset = address - start;
        return offset <= (ulong)Length && length <= (ulong)Length - offset ? (long)offset : -1;
    }

    protected override void Release() => _transport.Deregister(this);
}
