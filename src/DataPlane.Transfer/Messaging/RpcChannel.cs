using System.Collections.Concurrent;
using System.Text;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Messaging;

/// <summary>A call failed at the peer: <see cref="Status"/> is the peer's status number (gRPC codes for the daemon's
/// methods) and the message is the peer's.</summary>
public sealed class RpcFaultException : Exception
{
    public RpcFaultException(int status, string message)
        : base(message) => Status = status;

    public RpcFaultException()
    {
    }

    public RpcFaultException(string message)
        : base(message)
    {
    }

    public RpcFaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The peer's status number.</summary>
    public int Status { get; }
}

/// <summary>The answer a server handler gives: a payload, or a status and message.</summary>
public readonly record struct RpcReply(ReadOnlyMemory<byte> Payload, int Status = 0, string? Error = null)
{
    public static RpcReply Fail(int status, string message) => new(ReadOnlyMemory<byte>.Empty, status, message);
}

/// <summary>Request/response calls over one transfer-engine connection, in both directions: <see cref="CallAsync"/>
/// sends a request and waits for its answer; requests from the peer go to the handler given at construction, several
/// at once. Messages larger than one SEND are fragmented and reassembled into buffers that grow as the fragments
/// arrive, within the <see cref="RpcLimits"/> (bytes per channel and per process, half-received messages and requests
/// being served). Any protocol violation, exceeded limit or connection failure ends the channel: pending calls fail
/// with a <see cref="TransferException"/> (connection lost) and never hang.</summary>
public sealed class RpcChannel : IAsyncDisposable
{
    private const int GrowStep = 64 << 10;

    private readonly ITransferConnection _connection;
    private readonly Func<ushort, ReadOnlyMemory<byte>, CancellationToken, Task<RpcReply>>? _handler;
    private readonly RpcLimits _limits;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<byte[]>> _calls = new();
    private readonly Dictionary<(RpcFrameKind, ulong), Partial> _partial = [];
    private readonly ConcurrentDictionary<Task, byte> _handlers = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private long _nextId;
    private long _held;
    private int _serving;
    private int _disposed;
    private Exception? _ended;

    /// <param name="connection">The connection; the channel owns it and disposes it.</param>
    /// <param name="handler">Serves the peer's requests (method, payload) → reply; null: requests are answered with status 12 (unimplemented).</param>
    /// <param name="limits">What the channel may hold (null: <see cref="RpcLimits.Shared"/>, one budget for the process).</param>
    public RpcChannel(ITransferConnection connection, Func<ushort, ReadOnlyMemory<byte>, CancellationToken, Task<RpcReply>>? handler = null,
        RpcLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _handler = handler;
        _limits = limits ?? RpcLimits.Shared;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Bytes this channel holds now (messages being received or served).</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>The peer's name.</summary>
    public string PeerName => _connection.PeerName;

    /// <summary>The connection's transport.</summary>
    public TransportKind Kind => _connection.Kind;

    /// <summary>Null while the channel works; why it ended otherwise.</summary>
    public Exception? Ended => Volatile.Read(ref _ended);

    /// <summary>Completes when the channel has ended (never faults; <see cref="Ended"/> says why).</summary>
    public Task Completion => _receiveLoop;

    /// <summary>Calls <paramref name="method"/> at the peer. Throws <see cref="RpcFaultException"/> when the peer's handler
    /// failed, <see cref="TransferException"/> when the connection did.</summary>
    public async Task<byte[]> CallAsync(ushort method, ReadOnlyMemory<byte> request, CancellationToken cancellationToken = default)
    {
        if (Ended is { } ended)
        {
            throw new TransferException(TransferStatus.ConnectionLost, $"RPC channel to {PeerName} has ended: {ended.Message}", ended);
        }

        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        var call = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = call;
        try
        {
            await SendAsync(RpcFrameKind.Request, method, id, request, cancellationToken).ConfigureAwait(false);
            if (Ended is { } after)
            {
                // The loop may have ended between the check above and the registration: nothing would fail this call.
                call.TrySetException(new TransferException(TransferStatus.ConnectionLost, $"RPC channel to {PeerName} has ended: {after.Message}", after));
            }

            return await call.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _calls.TryRemove(id, out _);
        }
    }

    /// <summary>Stops: cancels the handlers still serving, closes the connection and waits until the receive loop and
    /// every handler have finished (so everything the channel held is given back).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _receiveLoop.ConfigureAwait(false);
        await Task.WhenAll(_handlers.Keys).ConfigureAwait(false);
        _sendGate.Dispose();
        _stop.Dispose();
    }

    private async Task SendAsync(RpcFrameKind kind, ushort method, ulong id, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        int chunk = Math.Max(1, _connection.PeerMaxMessageBytes - RpcFrame.Size);
        byte[] fragment = new byte[RpcFrame.Size + Math.Min(chunk, payload.Length)];
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int offset = 0;
            do
            {
                int length = Math.Min(chunk, payload.Length - offset);
                new RpcFrame(kind, method, id, payload.Length, offset).Write(fragment);
                payload.Span.Slice(offset, length).CopyTo(fragment.AsSpan(RpcFrame.Size));
                // SendAsync copies before it returns, so the fragment buffer is reused for the next piece.
                await _connection.SendAsync(fragment.AsMemory(0, RpcFrame.Size + length), cancellationToken).ConfigureAwait(false);
                offset += length;
            }
            while (offset < payload.Length);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                using var message = await _connection.ReceiveAsync(_stop.Token).ConfigureAwait(false);
                var frame = RpcFrame.Read(message.Payload.Span, _limits.MaxMessageBytes);
                if (Assemble(frame, message.Payload.Span[RpcFrame.Size..]) is { } whole)
                {
                    Dispatch(frame, whole, whole.Length + (long)RpcLimits.MessageOverhead);
                }
            }
        }
        catch (Exception e)
        {
            Volatile.Write(ref _ended, e);
            if (e is RpcLimitException limit)
            {
                _limits.Violated(PeerName, limit.Reason, limit.Message);
            }

            // Half-received messages die with the channel; requests being served give their bytes back as they finish.
            foreach (var partial in _partial.Values)
            {
                Uncharge(partial.Charged);
            }

            _partial.Clear();
            var lost = new TransferException(TransferStatus.ConnectionLost, $"RPC channel to {PeerName} ended: {e.Message}", e);
            foreach (var call in _calls.Values)
            {
                call.TrySetException(lost);
            }

            if (e is InvalidDataException or RpcLimitException)
            {
                // A peer that breaks the protocol or a limit gets no further service on this connection.
                await _connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Adds a fragment; returns the whole message once every byte arrived (charged to the budgets: the caller
    /// hands the charge on with the message). Fragments of one message arrive in order (transfer-engine messages are
    /// ordered), so a gap is a protocol error. A buffer grows as bytes arrive, at most doubling: the length a first
    /// fragment announces is never allocated on trust.</summary>
    private byte[]? Assemble(RpcFrame frame, ReadOnlySpan<byte> bytes)
    {
        var key = (frame.Kind, frame.Id);
        if (frame.Offset == 0 && bytes.Length == frame.Total)
        {
            if (_partial.ContainsKey(key))
            {
                throw new InvalidDataException($"RPC {frame.Kind} {frame.Id} started twice");
            }

            Charge(bytes.Length + (long)RpcLimits.MessageOverhead);
            return bytes.ToArray();
        }

        if (frame.Offset == 0)
        {
            if (_partial.ContainsKey(key))
            {
                throw new InvalidDataException($"RPC {frame.Kind} {frame.Id} started twice");
            }

            if (_partial.Count >= _limits.PartialMessagesPerConnection)
            {
                throw new RpcLimitException("partial_messages",
                    $"{_partial.Count} messages are half received and another one started (at most {_limits.PartialMessagesPerConnection})");
            }

            Charge(RpcLimits.MessageOverhead);
            _partial[key] = new Partial(frame.Total) { Charged = RpcLimits.MessageOverhead };
        }

        if (!_partial.TryGetValue(key, out var partial) || partial.Received != frame.Offset || partial.Total != frame.Total)
        {
            throw new InvalidDataException($"RPC {frame.Kind} {frame.Id}: fragment at offset {frame.Offset} is out of order");
        }

        int end = frame.Offset + bytes.Length;
        if (end > partial.Buffer.Length)
        {
            int capacity = (int)Math.Min(partial.Total, Math.Max(end, Math.Max(2L * partial.Buffer.Length, GrowStep)));
            Charge(capacity - partial.Buffer.Length);
            partial.Charged += capacity - partial.Buffer.Length;
            byte[] larger = GC.AllocateUninitializedArray<byte>(capacity);
            partial.Buffer.AsSpan(0, partial.Received).CopyTo(larger);
            partial.Buffer = larger;
        }

        bytes.CopyTo(partial.Buffer.AsSpan(frame.Offset));
        partial.Received = end;
        if (end < partial.Total)
        {
            return null;
        }

        // Whole: the buffer is exactly Total bytes (growth stops there); its charge travels with it.
        _partial.Remove(key);
        return partial.Buffer;
    }

    /// <summary>Takes <paramref name="bytes"/> from this channel's and the process's budget, or ends the channel.</summary>
    private void Charge(long bytes)
    {
        if (Interlocked.Add(ref _held, bytes) > _limits.BytesPerConnection)
        {
            Interlocked.Add(ref _held, -bytes);
            throw new RpcLimitException("connection_bytes",
                $"{bytes} more bytes would exceed the {_limits.BytesPerConnection} bytes one connection may hold ({HeldBytes} held)");
        }

        if (!_limits.TryReserve(bytes))
        {
            Interlocked.Add(ref _held, -bytes);
            throw new RpcLimitException("process_bytes",
                $"{bytes} more bytes would exceed the {_limits.BytesPerProcess} bytes all RPC channels may hold ({_limits.HeldBytes} held)");
        }
    }

    private void Uncharge(long bytes)
    {
        Interlocked.Add(ref _held, -bytes);
        _limits.Release(bytes);
    }

    private void Dispatch(RpcFrame frame, byte[] payload, long charge)
    {
        if (frame.Kind == RpcFrameKind.Request)
        {
            if (Interlocked.Increment(ref _serving) > _limits.RequestsPerConnection)
            {
                Interlocked.Decrement(ref _serving);
                Uncharge(charge);
                throw new RpcLimitException("requests", $"more than {_limits.RequestsPerConnection} requests at once");
            }

            // The request's bytes stay charged until its answer is sent.
            var serving = ServeAsync(frame.Method, frame.Id, payload, charge);
            _handlers[serving] = 0;
            _ = serving.ContinueWith(static (t, c) => ((ConcurrentDictionary<Task, byte>)c!).TryRemove(t, out _), _handlers,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return;
        }

        // A response is the caller's once handed over.
        Uncharge(charge);
        switch (frame.Kind)
        {
            case RpcFrameKind.Response when _calls.TryGetValue(frame.Id, out var call):
                call.TrySetResult(payload);
                break;
            case RpcFrameKind.Error when _calls.TryGetValue(frame.Id, out var call):
                int status = payload.Length >= 4 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(payload) : 2;
                call.TrySetException(new RpcFaultException(status, Encoding.UTF8.GetString(payload.AsSpan(Math.Min(4, payload.Length)))));
                break;
            default:
                // The answer to a call that was cancelled or timed out meanwhile: nobody waits for it.
                break;
        }
    }

    private async Task ServeAsync(ushort method, ulong id, byte[] request, long charge)
    {
        try
        {
            await ServeOneAsync(method, id, request).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _serving);
            Uncharge(charge);
        }
    }

    private async Task ServeOneAsync(ushort method, ulong id, byte[] request)
    {
        RpcReply reply;
        try
        {
            reply = _handler is null ? RpcReply.Fail(12, $"this peer serves no RPC methods (method {method})")
                : await _handler(method, request, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            reply = RpcReply.Fail(13, $"handler for method {method} failed: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            if (reply.Error is null)
            {
                await SendAsync(RpcFrameKind.Response, method, id, reply.Payload, _stop.Token).ConfigureAwait(false);
            }
            else
            {
                byte[] error = new byte[4 + Encoding.UTF8.GetByteCount(reply.Error)];
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(error, reply.Status);
                Encoding.UTF8.GetBytes(reply.Error, error.AsSpan(4));
                await SendAsync(RpcFrameKind.Error, method, id, error, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is TransferException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended; the receive loop fails whatever else is pending.
        }
    }

    /// <summary>A message being reassembled: its buffer (grown as bytes arrive), the bytes received and the bytes charged.</summary>
    private sealed class Partial(int total)
    {
        public int Total { get; } = total;

        public byte[] Buffer { get; set; } = [];

        public int Received { get; set; }

        public long Charged { get; set; }
    }
}
