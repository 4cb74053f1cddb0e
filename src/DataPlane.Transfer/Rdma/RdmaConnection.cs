using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Threading.Channels;
using DataPlane.Interop.Verbs;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Security;

namespace DataPlane.Transfer.Rdma;

/// <summary>One RDMA connection: an RC queue pair, its completion queue and channel (polled by a
/// <see cref="CompletionPoller"/> thread), a ring of pre-posted receive buffers and registered send slots, and the
/// TCP control connection the handshake used.
///
/// <para>Work requests: WRITE and READ go to the peer's memory as one-sided verbs; SEND copies the message into a
/// registered send slot (or, while none is free, into a pooled array) before returning. Everything is posted in
/// issue order through one queue, so a later operation never overtakes an earlier one that waits for a credit or a
/// send-queue slot. Signalling is selective: the last request of every post and at least every
/// <see cref="RdmaOptions.SignalInterval"/>th request are signalled; since RC completes in order, a signalled
/// completion also completes every unsignalled request before it.</para>
///
/// <para>Flow control: a SEND is posted only while the peer has a free receive buffer (a credit), so RNR never
/// stalls the queue pair. Credits travel over the control connection as 4-byte little-endian counts: each side
/// grants its <see cref="ConnectionSettings.ReceiveDepth"/> at start, and one more each time a received message is
/// disposed and its buffer re-posted (grants written back-to-back coalesce under load). The handshake message has
/// no receive-depth field, and credits on the control connection cost no receive buffer of their own.</para>
///
/// <para>Faults: an error completion maps to a status (<see cref="TransferStatusNames.FromWorkCompletionStatus"/>),
/// moves the QP to ERR and fails every other pending operation, and any submitted later, as flushed; closing the
/// control connection tells the peer, whose connection faults with <see cref="TransferStatus.ConnectionLost"/>.
/// A timeout also faults the connection, because only a QP in ERR guarantees that a late READ never writes its
/// destination.</para>
///
/// <para>The fault latch, the timeout sweep's timer and the wording of failures are <see cref="TransferConnectionBase"/>'s;
/// this class adds the verbs, the credits and what a fault or a timeout means for a queue pair.</para></summary>
internal sealed class RdmaConnection : TransferConnectionBase, ICompletionQueue
{
    private const ulong ReceiveFlag = 1UL << 63;
    private const int MaxPollChunk = 64;

    private readonly RdmaTransport _transport;
    private readonly RdmaOptions _options;
    private readonly CompletionChannel _channel;
    private readonly CompletionQueue _cq;
    private readonly PinnedBuffer _receiveMemory;
    private readonly MemoryRegion _receiveRegion;
    private readonly int _receiveSlotBytes;
    private readonly object _lock = new();
    private readonly Queue<WorkItem> _waiting = new();
    private readonly Queue<WorkItem> _inflight = new();
    private readonly Stack<int> _freeSendSlots = new();
    private readonly SemaphoreSlim _creditSignal = new(0);
    private readonly int _maxSendWr;
    private PinnedBuffer? _sendMemory;
    private MemoryRegion? _sendRegion;
    private int _sendSlotBytes;
    private Socket? _control;
    private Stream? _controlStream;
    private CompletionPoller? _poller;
    private Task _controlLoop = Task.CompletedTask;
    private Task _creditLoop = Task.CompletedTask;
    private ulong _nextSeq;
    private int _sinceSignal;
    private int _sqUsed;
    private int _sendCredits;
    private int _creditsToReturn;
    private int _destroyed;

    /// <summary>Creates the QP and moves it to INIT with every receive posted (handshake stage Init).</summary>
    public RdmaConnection(RdmaTransport transport, ConnectionSettings settings, FlowClass flowClass)
        : base(TransportKind.Rdma, settings, flowClass,
            Channel.CreateUnbounded<TransferMessage>(new UnboundedChannelOptions { SingleWriter = true }),
            transport.Time, transport.Metrics, transport.Logger)
    {
        _transport = transport;
        _options = transport.Options;
        SendPsn = HandshakeNegotiation.RandomPacketSequenceNumber();
        _receiveSlotBytes = settings.MaxMessageBytes;
        try
        {
            _channel = transport.Context.CreateCompletionChannel();
            _cq = transport.Context.CreateCompletionQueue(_options.SendQueueDepth + settings.ReceiveDepth + 16, _channel);
            QueuePair = transport.ProtectionDomain.CreateQueuePair(_cq, _cq,
                new QueuePairCapabilities(MaxSendWr: _options.SendQueueDepth, MaxRecvWr: settings.ReceiveDepth));
            _maxSendWr = _options.SendQueueDepth;
            _receiveMemory = PinnedBuffer.Allocate(checked(_receiveSlotBytes * settings.ReceiveDepth));
            _receiveRegion = transport.ProtectionDomain.Register(_receiveMemory.Address, _receiveMemory.Length, MemoryAccess.LocalWrite);
            QueuePair.ToInit((byte)transport.Selection.Port, MemoryAccess.LocalWrite | MemoryAccess.RemoteWrite | MemoryAccess.RemoteRead);
            var receives = new ReceiveRequest[settings.ReceiveDepth];
            for (int i = 0; i < receives.Length; i++)
            {
                receives[i] = new ReceiveRequest(ReceiveFlag | (uint)i, _receiveRegion.Slice((ulong)i * (ulong)_receiveSlotBytes, (uint)_receiveSlotBytes));
            }

            if (QueuePair.PostRecv(receives) != receives.Length)
            {
                throw new VerbsException("ibv_post_recv", 12 /* ENOMEM */, "the receive queue is smaller than the receive depth");
            }
        }
        catch (VerbsException e)
        {
            Destroy();
            throw new TransferException(HandshakeStage.Init, e.Message, e);
        }
    }

    /// <summary>The queue pair (tests read its state).</summary>
    internal QueuePair QueuePair { get; } = null!;

    /// <summary>This side's initial send PSN (the peer's rq_psn).</summary>
    internal uint SendPsn { get; }

    /// <summary>The peer's handshake message.</summary>
    internal HandshakeMessage? PeerHandshake { get; private set; }

    /// <summary>What INIT→RTR was given (path MTU, traffic class, SL, …).</summary>
    internal RtrParameters Rtr { get; private set; }

    /// <summary>SEND credits currently held (tests).</summary>
    internal int SendCredits => Volatile.Read(ref _sendCredits);

    /// <summary>INIT→RTR→RTS with the peer's parameters; allocates the send slots for the peer's message size.</summary>
    public void Connect(HandshakeMessage peer)
    {
        PeerHandshake = peer;
        PeerName = peer.NodeName.Length > 0 ? peer.NodeName : "unknown";
        PeerRegion = peer.Region;
        PeerMaxMessageBytes = (int)Math.Min(peer.MaxMessageBytes, ConnectionSettings.MaxMessageLimit);
        PeerMetrics = _transport.Metrics?.ForPeer(TransportKind.Rdma, PeerName);
        byte mtu;
        try
        {
            mtu = HandshakeNegotiation.PathMtu((byte)_transport.Selection.ActiveMtu, peer.Mtu, _options.MtuCap);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new TransferException(HandshakeStage.Negotiate, $"the peer's MTU {peer.Mtu} is not an ibv_mtu value");
        }

        if (peer.QueuePairNumber is 0 or > 0xFFFFFF || peer.PacketSequenceNumber > 0xFFFFFF)
        {
            throw new TransferException(HandshakeStage.Negotiate, $"the peer's QPN {peer.QueuePairNumber} or PSN {peer.PacketSequenceNumber} is out of range");
        }

        _sendSlotBytes = Math.Max(1, PeerMaxMessageBytes);
        int slots = Math.Clamp(_options.SendBufferBytes / _sendSlotBytes, 1, Math.Max(1, Settings.ReceiveDepth));
        try
        {
            _sendMemory = PinnedBuffer.Allocate(checked(slots * _sendSlotBytes));
            _sendRegion = _transport.ProtectionDomain.Register(_sendMemory.Address, _sendMemory.Length, MemoryAccess.None);
        }
        catch (VerbsException e)
        {
            throw new TransferException(HandshakeStage.Init, $"registering the send buffers failed: {e.Message}", e);
        }

        for (int i = slots - 1; i >= 0; i--)
        {
            _freeSendSlots.Push(i);
        }

        Rtr = new RtrParameters(peer.QueuePairNumber, peer.PacketSequenceNumber, RdmaTransport.GidOf(peer.Gid), _transport.Selection.Gid.Index)
        {
            Port = (byte)_transport.Selection.Port,
            Mtu = (Mtu)mtu,
            HopLimit = _options.HopLimit,
            TrafficClass = FlowClass.TrafficClass,
            ServiceLevel = (byte)FlowClass.ServiceLevel,
            RemoteLid = peer.Lid,
            MaxDestReadAtomic = _transport.MaxReadAtomic,
            MinRnrTimer = 12,
        };
        try
        {
            QueuePair.ToRtr(Rtr);
        }
        catch (VerbsException e)
        {
            throw new TransferException(HandshakeStage.ReadyToReceive, e.Message, e);
        }

        try
        {
            byte reads = (byte)Math.Clamp(Math.Min((int)_transport.MaxInitReadAtomic, Math.Max(1, (int)peer.MaxReadAtomic)), 1, 255);
            QueuePair.ToRts(SendPsn, timeout: 14, retryCount: 7, rnrRetry: 7, maxReadAtomic: reads);
        }
        catch (VerbsException e)
        {
            throw new TransferException(HandshakeStage.ReadyToSend, e.Message, e);
        }
    }

    /// <summary>Starts the poller, the control loops and the timeout sweeper; grants the initial credits.</summary>
    internal void Start(ControlChannel channel)
    {
        _control = channel.Socket;
        // Credits travel inside the TLS session when there is one; the data moves by RDMA, in clear.
        _controlStream = channel.OpenData(clear: false);
        Protection = channel.Secure ? ConnectionProtection.Authenticated : ConnectionProtection.None;
        RemoteEndPoint = _control.RemoteEndPoint;
        if (PeerName == "unknown")
        {
            PeerName = RemoteEndPoint?.ToString() ?? "unknown";
        }

        _poller = new CompletionPoller(this, _options.BusyPollBudget, _options.PollBatch, "rdma-poller");
        _creditsToReturn = Settings.ReceiveDepth;
        _creditSignal.Release();
        _controlLoop = Task.Run(ControlLoopAsync);
        _creditLoop = Task.Run(CreditLoopAsync);
        // The TLS session (and its native state) goes once neither loop can touch it any more.
        _ = Task.WhenAll(_controlLoop, _creditLoop).ContinueWith(static (_, c) => ((ControlChannel)c!).Dispose(), channel,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        StartTimeoutSweep();
    }

    public override Task WriteAsync(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset, CancellationToken cancellationToken = default) =>
        Submit([TransferRequest.Write(source, destination, remoteOffset)], cancellationToken)[0];

    public override Task ReadAsync(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset, CancellationToken cancellationToken = default) =>
        Submit([TransferRequest.Read(destination, source, remoteOffset)], cancellationToken)[0];

    public override Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        Submit([TransferRequest.Send(message)], cancellationToken)[0];

    public override async Task SubmitAsync(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (chain.Count == 0)
        {
            return;
        }

        var tasks = Submit(chain, cancellationToken);
        await TransferChain.WhenAllAsync(tasks, chain, cancellationToken).ConfigureAwait(false);
    }

    protected override Task WhenLoopsEnded() => Task.WhenAll(_controlLoop, _creditLoop);

    protected override void OnDisposed()
    {
        _poller?.Dispose();
        while (Incoming.Reader.TryRead(out var orphan))
        {
            orphan.Dispose();
        }

        Destroy();
    }

    /// <summary>Destroys the verbs objects in order (QP → CQ → channel; MRs), once.</summary>
    internal void Destroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) != 0)
        {
            return;
        }

        QueuePair?.Dispose();
        _cq?.Dispose();
        _channel?.Dispose();
        _receiveRegion?.Dispose();
        _sendRegion?.Dispose();
        _receiveMemory?.Dispose();
        _sendMemory?.Dispose();
        DisposeShutdown();
        _creditSignal.Dispose();
    }

    // ICompletionQueue, called by the poller thread only.
    int ICompletionQueue.Poll(int max)
    {
        Span<WorkCompletion> completions = stackalloc WorkCompletion[Math.Min(max, MaxPollChunk)];
        int n = _cq.Poll(completions);
        for (int i = 0; i < n; i++)
        {
            ref readonly var wc = ref completions[i];
            if ((wc.WorkRequestId & ReceiveFlag) != 0)
            {
                OnReceive(wc);
            }
            else
            {
                OnSendCompletion(wc);
            }
        }

        return n;
    }

    void ICompletionQueue.Arm() => _cq.RequestNotify();

    bool ICompletionQueue.WaitForEvent(TimeSpan timeout) => _channel.WaitForEvent(timeout, out _);

    /// <summary>Validates and queues <paramref name="chain"/>, posts what resources allow, and returns one Task per request.</summary>
    private Task[] Submit(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken)
    {
        var tasks = new Task[chain.Count];
        var items = new List<WorkItem>(chain.Count);
        for (int i = 0; i < chain.Count; i++)
        {
            var r = chain[i];
            if (r.Op != TransferOp.Send)
            {
                CheckLocal(r.Local);
            }

            if (Unusable() is { } failed)
            {
                tasks[i] = failed;
                continue;
            }

            if (r.Op != TransferOp.Send && r.Remote.Address + r.RemoteOffset < r.Remote.Address)
            {
                tasks[i] = Failed(TransferStatus.RemoteAccessError, $"offset {r.RemoteOffset} overflows the address of region {r.Remote}");
                continue;
            }

            if (r.Op == TransferOp.Send && r.Message.Length > PeerMaxMessageBytes)
            {
                tasks[i] = Failed(TransferStatus.RemoteInvalidRequest, $"a {r.Message.Length}-byte message exceeds the peer's limit of {PeerMaxMessageBytes} bytes");
                continue;
            }

            var item = new WorkItem(r, NewDeadline());
            if (r.Op != TransferOp.Send)
            {
                r.Local.Buffer.Memory.AddRef();
                item.Hold = r.Local.Buffer.Memory;
            }

            items.Add(item);
            tasks[i] = item.Task;
        }

        if (items.Count == 0)
        {
            return tasks;
        }

        items[^1].LastOfChain = true;
        lock (_lock)
        {
            if (Fault is { } fault)
            {
                foreach (var item in items)
                {
                    Finish(item, TransferStatusNames.ForOperationsAfter(fault), FaultReason);
                }

                return tasks;
            }

            foreach (var item in items)
            {
                _waiting.Enqueue(item);
            }

            Pump();

            // What could not be posted yet must not point at the caller's memory once this returns.
            foreach (var item in items)
            {
                if (!item.Posted && item.Request.Op == TransferOp.Send && item.Copy is null)
                {
                    item.Copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, item.Request.Message.Length));
                    item.Request.Message.CopyTo(item.Copy);
                }
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            foreach (var item in items)
            {
                item.Cancellation = cancellationToken.UnsafeRegister(static (state, token) =>
                {
                    var (connection, work) = ((RdmaConnection, WorkItem))state!;
                    connection.Cancel(work, token);
                }, (this, item));
            }
        }

        return tasks;
    }

    /// <summary>Posts waiting work while the send queue, credits and send slots allow. Caller holds the lock.</summary>
    private void Pump()
    {
        if (_waiting.Count == 0 || Fault is not null)
        {
            return;
        }

        var batch = ArrayPool<SendRequest>.Shared.Rent(Math.Min(_waiting.Count, _maxSendWr));
        int n = 0;
        try
        {
            while (_waiting.Count > 0 && n < batch.Length)
            {
                var item = _waiting.Peek();
                if (item.Task.IsCompleted)
                {
                    // Cancelled or timed out before it reached the wire.
                    _waiting.Dequeue();
                    ReleaseResources(item);
                    continue;
                }

                if (_sqUsed >= _maxSendWr)
                {
                    break;
                }

                var r = item.Request;
                ScatterGather local;
                if (r.Op == TransferOp.Send)
                {
                    if (_sendCredits == 0 || _freeSendSlots.Count == 0)
                    {
                        break;
                    }

                    _sendCredits--;
                    item.SendSlot = _freeSendSlots.Pop();
                    int length = r.Message.Length;
                    var slot = _sendMemory!.GetSpan().Slice(item.SendSlot * _sendSlotBytes, length);
                    if (item.Copy is not null)
                    {
                        item.Copy.AsSpan(0, length).CopyTo(slot);
                        ArrayPool<byte>.Shared.Return(item.Copy);
                        item.Copy = null;
                    }
                    else
                    {
                        r.Message.Span.CopyTo(slot);
                    }

                    local = _sendRegion!.Slice((ulong)item.SendSlot * (ulong)_sendSlotBytes, (uint)length);
                }
                else
                {
                    local = new ScatterGather((ulong)r.Local.Address, (uint)r.Local.Length, r.Local.Buffer.LocalKey);
                }

                _waiting.Dequeue();
                item.Seq = ++_nextSeq;
                item.Posted = true;
                bool signaled = item.LastOfChain || ++_sinceSignal >= _options.SignalInterval;
                if (signaled)
                {
                    _sinceSignal = 0;
                }

                batch[n++] = r.Op switch
                {
                    TransferOp.Write => SendRequest.Write(item.Seq, local, r.Remote.Address + r.RemoteOffset, r.Remote.RemoteKey, signaled),
                    TransferOp.Read => SendRequest.Read(item.Seq, local, r.Remote.Address + r.RemoteOffset, r.Remote.RemoteKey, signaled),
                    _ => SendRequest.Send(item.Seq, local, signaled),
                };
                _inflight.Enqueue(item);
                _sqUsed++;
            }

            if (n == 0)
            {
                return;
            }

            // The last request of every post is signalled, so unsignalled ones never hold send-queue slots forever.
            batch[n - 1] = batch[n - 1] with { Signaled = true };
            _sinceSignal = 0;
            int posted;
            string? error = null;
            try
            {
                posted = QueuePair.Post(batch.AsSpan(0, n));
            }
            catch (VerbsException e)
            {
                posted = 0;
                error = e.Message;
            }
            catch (ObjectDisposedException e)
            {
                posted = 0;
                error = e.Message;
            }

            if (posted < n)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => s.c.Fail(TransferStatus.LocalError, s.e, null),
                    (c: this, e: error ?? $"ibv_post_send took {posted} of {n} work requests"), preferLocal: false);
            }
        }
        finally
        {
            ArrayPool<SendRequest>.Shared.Return(batch);
        }
    }

    private void OnSendCompletion(in WorkCompletion wc)
    {
        var done = new List<(WorkItem Item, TransferStatus Status)>();
        var status = TransferStatusNames.FromWorkCompletionStatus((int)wc.Status);
        lock (_lock)
        {
            while (_inflight.Count > 0 && _inflight.Peek().Seq <= wc.WorkRequestId)
            {
                var item = _inflight.Dequeue();
                _sqUsed--;
                if (item.SendSlot >= 0)
                {
                    _freeSendSlots.Push(item.SendSlot);
                    item.SendSlot = -1;
                }

                done.Add((item, item.Seq == wc.WorkRequestId ? status : TransferStatus.Success));
            }

            if (status == TransferStatus.Success)
            {
                Pump();
            }
        }

        string reason = $"work completion {wc.StatusName}";
        if (status != TransferStatus.Success)
        {
            // The connection is marked faulted before the failed operation's Task completes, so whoever awaits it
            // sees the fault; the operations taken above are not pending any more and keep their own statuses.
            Fail(status, reason, null);
        }

        foreach (var (item, s) in done)
        {
            Finish(item, s, s == TransferStatus.Success ? null : reason);
        }
    }

    private void OnReceive(in WorkCompletion wc)
    {
        int slot = (int)(wc.WorkRequestId & 0xFFFF_FFFF);
        if (!wc.IsSuccess)
        {
            var status = TransferStatusNames.FromWorkCompletionStatus((int)wc.Status);
            Fail(status == TransferStatus.Flushed ? TransferStatus.ConnectionLost : status, $"receive completed with {wc.StatusName}", null);
            return;
        }

        int length = (int)wc.ByteLength;
        _receiveMemory.AddRef();
        var message = new RdmaMessage(this, slot, length);
        PeerMetrics?.Received(length);
        if (!Incoming.Writer.TryWrite(message))
        {
            message.Dispose();
        }
    }

    /// <summary>Gives a receive buffer back: re-post it and owe the peer a credit.</summary>
    private void Repost(int slot)
    {
        _receiveMemory.Release();
        if (Fault is not null)
        {
            return;
        }

        try
        {
            QueuePair.PostRecv(ReceiveFlag | (uint)slot, _receiveRegion.Slice((ulong)slot * (ulong)_receiveSlotBytes, (uint)_receiveSlotBytes));
            Interlocked.Increment(ref _creditsToReturn);
            _creditSignal.Release();
        }
        catch (Exception e) when (e is VerbsException or ObjectDisposedException)
        {
            // The connection is going away; the peer learns that from the control connection.
        }
    }

    private void Cancel(WorkItem item, CancellationToken token)
    {
        bool posted;
        lock (_lock)
        {
            posted = item.Posted && !item.Task.IsCompleted;
        }

        if (!item.TryClaim())
        {
            return;
        }

        item.TrySetCanceled(token);
        if (posted && item.Request.Op == TransferOp.Read)
        {
            // A posted READ could still land; only the error state stops the NIC from writing the destination.
            Fail(TransferStatus.Flushed, "a posted READ was cancelled", null);
        }
    }

    protected override void SweepTimeouts(long now)
    {
        WorkItem? expiredInflight = null;
        var expiredWaiting = new List<WorkItem>();
        lock (_lock)
        {
            foreach (var item in _inflight)
            {
                if (item.Deadline <= now && !item.Task.IsCompleted)
                {
                    expiredInflight = item;
                    break;
                }
            }

            foreach (var item in _waiting)
            {
                if (item.Deadline <= now && !item.Task.IsCompleted)
                {
                    expiredWaiting.Add(item);
                }
            }
        }

        string reason = TimeoutReason;
        foreach (var item in expiredWaiting)
        {
            // Never posted (waiting for a credit or a send-queue slot): nothing on the wire, the connection stays.
            Complete(item, TransferStatus.Timeout, reason);
        }

        if (expiredInflight is not null)
        {
            Complete(expiredInflight, TransferStatus.Timeout, reason);
            Fail(TransferStatus.Timeout, reason, null);
        }
    }

    protected override void Abort(TransferStatus status)
    {
        try
        {
            QueuePair.ToError();
        }
        catch (Exception e) when (e is VerbsException or ObjectDisposedException)
        {
            // Already in error or destroyed.
        }

        _control?.Dispose();
    }

    protected override void FailPending(TransferStatus status, string reason)
    {
        List<WorkItem> pending;
        lock (_lock)
        {
            pending = [.. _inflight, .. _waiting];
            _inflight.Clear();
            _waiting.Clear();
        }

        foreach (var item in pending)
        {
            Finish(item, status, reason);
        }
    }

    protected override void Detach() => _transport.Closed(this);

    /// <summary>Completes the item's Task and releases what it held.</summary>
    private void Finish(WorkItem item, TransferStatus status, string? reason)
    {
        ReleaseResources(item);
        Complete(item, status, reason);
    }

    private void Complete(WorkItem item, TransferStatus status, string? reason)
    {
        if (item.TryClaim())
        {
            CompleteOperation(item, status, reason);
        }
    }

    private static void ReleaseResources(WorkItem item)
    {
        item.Cancellation.Unregister();
        if (Interlocked.Exchange(ref item.Hold, null) is { } hold)
        {
            hold.Release();
        }

        if (item.Copy is { } copy)
        {
            item.Copy = null;
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static void CheckLocal(RegisteredSlice slice)
    {
        if (slice.Buffer is null)
        {
            throw new ArgumentException("empty slice", nameof(slice));
        }

        if (slice.Buffer.Kind != TransportKind.Rdma || slice.Buffer.IsDisposed)
        {
            throw new ArgumentException("the local slice must be registered with the RDMA transport (and still registered)", nameof(slice));
        }
    }

    private async Task ControlLoopAsync()
    {
        var buffer = new byte[4];
        var token = ShutdownToken;
        try
        {
            while (true)
            {
                int read = 0;
                while (read < buffer.Length)
                {
                    int n = await _controlStream!.ReadAsync(buffer.AsMemory(read), token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        Fail(TransferStatus.ConnectionLost, "the peer closed the control connection", null);
                        return;
                    }

                    read += n;
                }

                int granted = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                if (granted <= 0 || granted > 1 << 20)
                {
                    Fail(TransferStatus.ConnectionLost, $"protocol error: a credit grant of {granted}", null);
                    return;
                }

                lock (_lock)
                {
                    _sendCredits += granted;
                    Pump();
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            Fail(TransferStatus.ConnectionLost, "the control connection failed", e);
        }
    }

    private async Task CreditLoopAsync()
    {
        var buffer = new byte[4];
        var token = ShutdownToken;
        try
        {
            while (true)
            {
                await _creditSignal.WaitAsync(token).ConfigureAwait(false);
                int credits = Interlocked.Exchange(ref _creditsToReturn, 0);
                if (credits == 0)
                {
                    continue;
                }

                BinaryPrimitives.WriteInt32LittleEndian(buffer, credits);
                await _controlStream!.WriteAsync(buffer, token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            Fail(TransferStatus.ConnectionLost, "the control connection failed", e);
        }
    }

    /// <summary>One operation: its Task, what it holds and where it is (waiting, in flight).</summary>
    private sealed class WorkItem(TransferRequest request, long deadline) : PendingOperation(request.Op, request.Bytes, deadline)
    {
        public PinnedBuffer? Hold;

        private int _claimed;

        public TransferRequest Request { get; } = request;

        public ulong Seq { get; set; }

        public bool Posted { get; set; }

        public bool LastOfChain { get; set; }

        public int SendSlot { get; set; } = -1;

        /// <summary>A SEND's bytes while it waits for a credit or a slot.</summary>
        public byte[]? Copy { get; set; }

        /// <summary>True for the one caller that gets to complete the Task.</summary>
        public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;
    }

    /// <summary>A received message in one of the receive buffers; disposing re-posts the buffer.</summary>
    private sealed class RdmaMessage(RdmaConnection connection, int slot, int length) : TransferMessage
    {
        public override ReadOnlyMemory<byte> Payload =>
            connection._receiveMemory.Memory.Slice(slot * connection._receiveSlotBytes, length);

        protected override void Release() => connection.Repost(slot);
    }
}
