using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;

namespace DataPlane.Transfer.Tcp;

/// <summary>One TCP transfer connection. Two loops own the socket (or the TLS session over it): the writer sends
/// queued frames in order (coalescing small ones into one send), the reader executes incoming requests and completes
/// this side's operations from acknowledgements. No allocation trusts a length field: a SEND's buffer grows as its
/// bytes arrive. The reader never waits on the socket's send side — its acks and READ
/// responses go through the writer's queue — so two peers streaming at each other cannot deadlock on full
/// send buffers. The fault latch, the timeout sweep and the wording of failures are <see cref="TransferConnectionBase"/>'s;
/// an operation that times out fails alone (its late answer is discarded) and the connection stays.</summary>
internal sealed class TcpTransferConnection : TransferConnectionBase
{
    private const int CoalesceBytes = 64 << 10;
    private const int GrowStep = 64 << 10;

    private readonly TcpTransport _transport;
    private readonly Socket _socket;
    private readonly ControlChannel _channel;
    private readonly Stream _stream;
    private readonly Channel<OutFrame> _out = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<ulong, PendingOp> _pending = new();
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private long _nextId;

    public TcpTransferConnection(TcpTransport transport, ControlChannel channel, bool clear, ConnectionSettings settings, FlowClass flowClass, HandshakeMessage peer)
        : base(TransportKind.Tcp, settings, flowClass,
            Channel.CreateBounded<TransferMessage>(new BoundedChannelOptions(settings.ReceiveDepth)
            {
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            }),
            transport.Time, transport.Metrics, transport.Logger)
    {
        _transport = transport;
        _channel = channel;
        _socket = channel.Socket;
        // Over TLS the writer gathers records into larger socket writes and flushes once its queue is empty.
        _stream = channel.OpenData(clear, coalesce: true);
        Protection = channel.Protection(clear);
        RemoteEndPoint = _socket.RemoteEndPoint;
        PeerName = peer.NodeName.Length > 0 ? peer.NodeName : RemoteEndPoint?.ToString() ?? "unknown";
        PeerRegion = peer.Region;
        PeerMaxMessageBytes = (int)Math.Min(peer.MaxMessageBytes, ConnectionSettings.MaxMessageLimit);
        PeerMetrics = transport.Metrics?.ForPeer(TransportKind.Tcp, PeerName);
    }

    /// <summary>The socket, for tests that read its options back.</summary>
    internal Socket Socket => _socket;

    internal void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        // The TLS session (and its native state) goes once neither loop can touch it any more.
        _ = Task.WhenAll(_readLoop, _writeLoop).ContinueWith(static (_, c) => ((ControlChannel)c!).Dispose(), _channel,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        StartTimeoutSweep();
    }

    public override Task WriteAsync(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset, CancellationToken cancellationToken = default)
    {
        CheckLocal(source, nameof(source));
        if (Unusable() is { } failed)
        {
            return failed;
        }

        if (!TryAddress(destination, remoteOffset, out ulong address))
        {
            return Failed(TransferStatus.RemoteAccessError, $"offset {remoteOffset} overflows the address of region {destination}");
        }

        source.Buffer.Memory.AddRef();
        var op = Register(TransferOp.Write, source.Length, default, null, cancellationToken);
        Enqueue(new OutFrame(new TcpFrame(FrameOp.Write, WireStatus.Ok, (uint)source.Length, op.Id, destination.RemoteKey, address), source.Memory, source.Buffer.Memory, null));
        return op.Task;
    }

    public override Task ReadAsync(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset, CancellationToken cancellationToken = default)
    {
        CheckLocal(destination, nameof(destination));
        if (Unusable() is { } failed)
        {
            return failed;
        }

        if (!TryAddress(source, remoteOffset, out ulong address))
        {
            return Failed(TransferStatus.RemoteAccessError, $"offset {remoteOffset} overflows the address of region {source}");
        }

        destination.Buffer.Memory.AddRef();
        var op = Register(TransferOp.Read, destination.Length, destination.Memory, destination.Buffer.Memory, cancellationToken);
        Enqueue(new OutFrame(new TcpFrame(FrameOp.ReadRequest, WireStatus.Ok, (uint)destination.Length, op.Id, source.RemoteKey, address), default, null, null));
        return op.Task;
    }

    public override Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        if (Unusable() is { } failed)
        {
            return failed;
        }

        if (message.Length > PeerMaxMessageBytes)
        {
            return Failed(TransferStatus.RemoteInvalidRequest, $"a {message.Length}-byte message exceeds the peer's limit of {PeerMaxMessageBytes} bytes");
        }

        // Copy now: the caller may reuse its memory as soon as this returns.
        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, message.Length));
        message.CopyTo(copy);
        var op = Register(TransferOp.Send, message.Length, default, null, cancellationToken);
        Enqueue(new OutFrame(new TcpFrame(FrameOp.Send, WireStatus.Ok, (uint)message.Length, op.Id, 0, 0), copy.AsMemory(0, message.Length), null, copy));
        return op.Task;
    }

    public override async Task SubmitAsync(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var tasks = new Task[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            var r = chain[i];
            tasks[i] = r.Op switch
            {
                TransferOp.Write => WriteAsync(r.Local, r.Remote, r.RemoteOffset, cancellationToken),
                TransferOp.Read => ReadAsync(r.Local, r.Remote, r.RemoteOffset, cancellationToken),
                _ => SendAsync(r.Message, cancellationToken),
            };
        }

        await TransferChain.WhenAllAsync(tasks, chain, cancellationToken).ConfigureAwait(false);
    }

    protected override Task WhenLoopsEnded() => Task.WhenAll(_readLoop, _writeLoop);

    protected override void OnDisposed()
    {
    }

    private static void CheckLocal(RegisteredSlice slice, string name)
    {
        if (slice.Buffer is null)
        {
            throw new ArgumentException("empty slice", name);
        }

        if (slice.Buffer.Kind != TransportKind.Tcp || slice.Buffer.IsDisposed)
        {
            throw new ArgumentException("the local slice must be registered with the TCP transport (and still registered)", name);
        }
    }

    private static bool TryAddress(RemoteRegion region, ulong offset, out ulong address)
    {
        address = region.Address + offset;
        return address >= region.Address;
    }

    private PendingOp Register(TransferOp kind, int bytes, Memory<byte> destination, PinnedBuffer? hold, CancellationToken cancellationToken)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        var op = new PendingOp(id, kind, bytes, destination, hold, NewDeadline());
        _pending[id] = op;
        if (cancellationToken.CanBeCanceled)
        {
            op.Cancellation = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (connection, pending) = ((TcpTransferConnection, PendingOp))state!;
                if (connection._pending.TryRemove(pending.Id, out _))
                {
                    pending.Cancellation.Unregister();
                    pending.Hold?.Release();
                    pending.TrySetCanceled(token);
                }
            }, (this, op));
        }

        // A fault between the usability check and the registration above has already swept the table.
        if (Fault is { } fault && _pending.TryRemove(id, out _))
        {
            Complete(op, TransferStatusNames.ForOperationsAfter(fault), FaultReason);
        }

        return op;
    }

    private void Complete(PendingOp op, TransferStatus status, string? reason)
    {
        op.Cancellation.Unregister();
        op.Hold?.Release();
        CompleteOperation(op, status, reason);
    }

    private void Enqueue(OutFrame frame)
    {
        if (!_out.Writer.TryWrite(frame))
        {
            // The writer is gone (connection failed): the pending op was or will be failed by Fail.
            frame.Done();
        }
    }

    protected override void SweepTimeouts(long now)
    {
        foreach (var (id, op) in _pending)
        {
            if (op.Deadline <= now && _pending.TryRemove(id, out _))
            {
                Complete(op, TransferStatus.Timeout, TimeoutReason);
            }
        }
    }

    protected override void Abort(TransferStatus status)
    {
        _socket.Dispose();
        _out.Writer.TryComplete();
    }

    protected override void FailPending(TransferStatus status, string reason)
    {
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var op))
            {
                Complete(op, status, reason);
            }
        }
    }

    protected override void Detach() => _transport.Closed(this);

    private async Task WriteLoopAsync()
    {
        var coalesce = new byte[CoalesceBytes];
        int used = 0;
        var reader = _out.Reader;
        var token = ShutdownToken;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    try
                    {
                        int need = TcpFrame.HeaderLength + frame.Payload.Length;
                        if (need > CoalesceBytes - used && used > 0)
                        {
                            await SendAllAsync(coalesce.AsMemory(0, used), token).ConfigureAwait(false);
                            used = 0;
                        }

                        frame.Header.WriteTo(coalesce.AsSpan(used));
                        used += TcpFrame.HeaderLength;
                        if (need <= CoalesceBytes - used + TcpFrame.HeaderLength)
                        {
                            frame.Payload.Span.CopyTo(coalesce.AsSpan(used));
                            used += frame.Payload.Length;
                        }
                        else
                        {
                            // Large payload: header now, then the payload straight from its memory (no copy).
                            await SendAllAsync(coalesce.AsMemory(0, used), token).ConfigureAwait(false);
                            used = 0;
                            await SendAllAsync(frame.Payload, token).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        frame.Done();
                    }
                }

                if (used > 0)
                {
                    await SendAllAsync(coalesce.AsMemory(0, used), token).ConfigureAwait(false);
                    used = 0;
                }

                // Nothing more queued: push out what a TLS session may still hold (a no-op on a plain socket).
                await _stream.FlushAsync(token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            Fail(TransferStatus.ConnectionLost, "sending failed", e);
        }
        finally
        {
            while (reader.TryRead(out var orphan))
            {
                orphan.Done();
            }
        }
    }

    /// <summary>Writes all of <paramref name="bytes"/> (a TLS session encrypts them into records on the way).</summary>
    private ValueTask SendAllAsync(ReadOnlyMemory<byte> bytes, CancellationToken token) => _stream.WriteAsync(bytes, token);

    private async Task ReadLoopAsync()
    {
        var header = new byte[TcpFrame.HeaderLength];
        var token = ShutdownToken;
        try
        {
            while (true)
            {
                if (!await ReceiveExactAsync(header, token, allowEnd: true).ConfigureAwait(false))
                {
                    Fail(TransferStatus.ConnectionLost, "the peer closed the connection", null);
                    return;
                }

                var frame = TcpFrame.ReadFrom(header);
                switch (frame.Op)
                {
                    case FrameOp.Write:
                        await OnWriteAsync(frame, token).ConfigureAwait(false);
                        break;
                    case FrameOp.ReadRequest:
                        OnReadRequest(frame);
                        break;
                    case FrameOp.ReadResponse:
                        await OnReadResponseAsync(frame, token).ConfigureAwait(false);
                        break;
                    case FrameOp.Send:
                        await OnSendAsync(frame, token).ConfigureAwait(false);
                        break;
                    case FrameOp.Ack:
                        if (_pending.TryRemove(frame.RequestId, out var op))
                        {
                            Complete(op, TcpFrame.ToStatus(frame.Status), frame.Status == WireStatus.Ok ? null : "refused by the peer");
                        }

                        break;
                    default:
                        Fail(TransferStatus.ConnectionLost, $"protocol error: unknown frame op {(byte)frame.Op}", null);
                        return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException or EndOfStreamException)
        {
            Fail(TransferStatus.ConnectionLost, "receiving failed", e);
        }
    }

    private async ValueTask OnWriteAsync(TcpFrame frame, CancellationToken token)
    {
        if (_transport.TryGetRegion(frame.Key, out var region)
            && (region.Access & RegionAccess.RemoteWrite) != 0
            && region.OffsetOf(frame.Address, frame.Length) is var offset and >= 0
            && region.Memory.TryAddRef())
        {
            try
            {
                await ReceiveExactAsync(region.Memory.Memory.Slice((int)offset, (int)frame.Length), token, allowEnd: false).ConfigureAwait(false);
            }
            finally
            {
                region.Memory.Release();
            }

            Reply(frame, WireStatus.Ok);
            return;
        }

        await DiscardAsync(frame.Length, token).ConfigureAwait(false);
        Reply(frame, WireStatus.RemoteAccess);
    }

    private void OnReadRequest(TcpFrame frame)
    {
        if (_transport.TryGetRegion(frame.Key, out var region)
            && (region.Access & RegionAccess.RemoteRead) != 0
            && region.OffsetOf(frame.Address, frame.Length) is var offset and >= 0
            && region.Memory.TryAddRef())
        {
            var payload = region.Memory.Memory.Slice((int)offset, (int)frame.Length);
            Enqueue(new OutFrame(frame with { Op = FrameOp.ReadResponse, Status = WireStatus.Ok }, payload, region.Memory, null));
            return;
        }

        Enqueue(new OutFrame(frame with { Op = FrameOp.ReadResponse, Status = WireStatus.RemoteAccess, Length = 0 }, default, null, null));
    }

    private async ValueTask OnReadResponseAsync(TcpFrame frame, CancellationToken token)
    {
        if (!_pending.TryRemove(frame.RequestId, out var op))
        {
            // Timed out or cancelled: the destination is no longer ours to write.
            await DiscardAsync(frame.Length, token).ConfigureAwait(false);
            return;
        }

        if (frame.Status != WireStatus.Ok)
        {
            await DiscardAsync(frame.Length, token).ConfigureAwait(false);
            Complete(op, TcpFrame.ToStatus(frame.Status), "refused by the peer");
            return;
        }

        if (frame.Length != (uint)op.Destination.Length)
        {
            await DiscardAsync(frame.Length, token).ConfigureAwait(false);
            Complete(op, TransferStatus.RemoteOperationError, $"the peer returned {frame.Length} bytes for a {op.Destination.Length}-byte read");
            return;
        }

        try
        {
            await ReceiveExactAsync(op.Destination, token, allowEnd: false).ConfigureAwait(false);
        }
        catch
        {
            Complete(op, TransferStatus.ConnectionLost, "the connection broke during the read response");
            throw;
        }

        Complete(op, TransferStatus.Success, null);
    }

    private async ValueTask OnSendAsync(TcpFrame frame, CancellationToken token)
    {
        if (frame.Length > (uint)Settings.MaxMessageBytes)
        {
            await DiscardAsync(frame.Length, token).ConfigureAwait(false);
            Reply(frame, WireStatus.InvalidRequest);
            return;
        }

        int length = (int)frame.Length;
        byte[] buffer = await ReceiveGrowingAsync(length, token).ConfigureAwait(false);

        var message = new PooledMessage(buffer, length);
        // A full receive queue stops this loop (and so the peer, by TCP flow control): the RNR of TCP.
        try
        {
            await Incoming.Writer.WriteAsync(message, token).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            message.Dispose();
            return;
        }

        PeerMetrics?.Received(length);
        Reply(frame, WireStatus.Ok);
    }

    /// <summary>Receives <paramref name="length"/> bytes into a pooled buffer that grows as they arrive (at most
    /// <see cref="GrowStep"/> ahead of them), so a length field that promises more than the peer sends holds no memory
    /// for the bytes that never come.</summary>
    private async ValueTask<byte[]> ReceiveGrowingAsync(int length, CancellationToken token)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, Math.Min(length, GrowStep)));
        int received = 0;
        try
        {
            while (received < length)
            {
                if (received == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, Math.Max(2L * buffer.Length, received + GrowStep)));
                    buffer.AsSpan(0, received).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int chunk = Math.Min(length, buffer.Length) - received;
                await ReceiveExactAsync(buffer.AsMemory(received, chunk), token, allowEnd: false).ConfigureAwait(false);
                received += chunk;
            }

            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private void Reply(TcpFrame request, WireStatus status) =>
        Enqueue(new OutFrame(new TcpFrame(FrameOp.Ack, status, 0, request.RequestId, 0, 0), default, null, null));

    private async ValueTask<bool> ReceiveExactAsync(Memory<byte> buffer, CancellationToken token, bool allowEnd)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer[read..], token).ConfigureAwait(false);
            if (n == 0)
            {
                if (allowEnd && read == 0)
                {
                    return false;
                }

                throw new EndOfStreamException("the peer closed the connection in the middle of a frame");
            }

            read += n;
        }

        return true;
    }

    private async ValueTask DiscardAsync(uint length, CancellationToken token)
    {
        if (length == 0)
        {
            return;
        }

        byte[] scratch = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, CoalesceBytes));
        try
        {
            long left = length;
            while (left > 0)
            {
                int chunk = (int)Math.Min(left, scratch.Length);
                await ReceiveExactAsync(scratch.AsMemory(0, chunk), token, allowEnd: false).ConfigureAwait(false);
                left -= chunk;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>An operation this side started and the peer has yet to complete.</summary>
    private sealed class PendingOp : PendingOperation
    {
        public PendingOp(ulong id, TransferOp kind, int bytes, Memory<byte> destination, PinnedBuffer? hold, long deadline)
            : base(kind, bytes, deadline)
        {
            Id = id;
            Destination = destination;
            Hold = hold;
        }

        public ulong Id { get; }

        /// <summary>Where a READ's bytes go.</summary>
        public Memory<byte> Destination { get; }

        /// <summary>Keeps a READ's destination memory alive until the op completes.</summary>
        public PinnedBuffer? Hold { get; }
    }

    /// <summary>A frame queued for the writer, with what must be released once it is on the wire.</summary>
    private sealed class OutFrame(TcpFrame header, ReadOnlyMemory<byte> payload, PinnedBuffer? hold, byte[]? pooled)
    {
        public TcpFrame Header { get; } = header;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public void Done()
        {
            hold?.Release();
            if (pooled is not null)
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>A received message in a pooled array.</summary>
    private sealed class PooledMessage(byte[] buffer, int length) : TransferMessage
    {
        public override ReadOnlyMemory<byte> Payload => buffer.AsMemory(0, length);

        protected override void Release() => ArrayPool<byte>.Shared.Return(buffer);
    }
}
