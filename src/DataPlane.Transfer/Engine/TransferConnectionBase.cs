using System.Net;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Engine;

/// <summary>What every transport's connection shares; a transport adds its I/O (posting verbs, framing a socket).
/// <list type="bullet">
/// <item><b>The fault latch.</b> <see cref="Fail"/>: the first fault wins and is final. It logs (unless the connection
/// was closed locally), stops the timeout sweep and the transport's loops (<see cref="ShutdownToken"/>), lets the
/// transport stop its wire (<see cref="Abort"/>), ends <see cref="ReceiveAsync"/> with the fault, fails every pending
/// operation (<see cref="FailPending"/>) with <see cref="TransferStatusNames.ForOperationsAfter"/>, tells the transport
/// (<see cref="Detach"/>) and completes <see cref="Completion"/> — in that order, so whoever sees an operation fail
/// finds <see cref="Fault"/> set and the receive side ended. An operation submitted afterwards fails at once with the
/// same status (<see cref="Unusable"/>).</item>
/// <item><b>The timeout sweep.</b> Each operation gets a deadline (<see cref="NewDeadline"/>,
/// <see cref="ConnectionSettings.OperationTimeout"/> on the transport's <see cref="TimeProvider"/>); a timer every
/// quarter of the timeout (5 ms to 1 s) hands the transport the time (<see cref="SweepTimeouts"/>), which times out
/// what is overdue in its own tables (and, where a late completion could still land, faults the connection).</item>
/// <item><b>Completions.</b> <see cref="CompleteOperation"/> counts the metric before the Task completes (so whoever
/// awaits it sees the count) and words every failure alike: "WRITE of N bytes to PEER failed (status): reason".</item>
/// </list>
/// The hot path (issuing and completing operations) takes no lock and allocates nothing here.</summary>
internal abstract class TransferConnectionBase : ITransferConnection
{
    private const int NoFault = -1;

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ILogger? _logger;
    private readonly long _timeoutTicks;
    private ITimer? _sweeper;
    private int _fault = NoFault;
    private string _faultReason = "";

    /// <param name="kind">The transport (labels metrics and logs).</param>
    /// <param name="settings">The connection's settings (operation timeout, generation).</param>
    /// <param name="flowClass">The flow class the connection was set up with.</param>
    /// <param name="incoming">The queue of received messages: the transport writes, <see cref="ReceiveAsync"/> reads.</param>
    /// <param name="time">The transport's clock for deadlines and the sweep.</param>
    /// <param name="metrics">The transport's metrics, or null.</param>
    /// <param name="logger">The transport's logger, or null.</param>
    protected TransferConnectionBase(TransportKind kind, ConnectionSettings settings, FlowClass flowClass, Channel<TransferMessage> incoming,
        TimeProvider time, TransferMetrics? metrics, ILogger? logger)
    {
        Kind = kind;
        Settings = settings;
        FlowClass = flowClass;
        Generation = settings.Generation;
        Incoming = incoming;
        Time = time;
        Metrics = metrics;
        _logger = logger;
        _timeoutTicks = settings.OperationTimeout == Timeout.InfiniteTimeSpan
            ? long.MaxValue
            : (long)(settings.OperationTimeout.TotalSeconds * time.TimestampFrequency);
        TimeoutReason = $"no completion within {settings.OperationTimeout.TotalSeconds:0.###} s";
    }

    /// <inheritdoc/>
    public string PeerName { get; protected set; } = "unknown";

    /// <inheritdoc/>
    public EndPoint? RemoteEndPoint { get; protected set; }

    /// <inheritdoc/>
    public TransportKind Kind { get; }

    /// <inheritdoc/>
    public ConnectionProtection Protection { get; protected set; }

    /// <inheritdoc/>
    public FlowClass FlowClass { get; }

    /// <inheritdoc/>
    public uint Generation { get; }

    /// <inheritdoc/>
    public RemoteRegion? PeerRegion { get; protected set; }

    /// <inheritdoc/>
    public int PeerMaxMessageBytes { get; protected set; }

    /// <inheritdoc/>
    public TransferStatus? Fault
    {
        get
        {
            int fault = Volatile.Read(ref _fault);
            return fault == NoFault ? null : (TransferStatus)fault;
        }
    }

    /// <inheritdoc/>
    public Task Completion => _completion.Task;

    /// <summary>The connection's settings.</summary>
    protected ConnectionSettings Settings { get; }

    /// <summary>The clock of deadlines and of the sweep.</summary>
    protected TimeProvider Time { get; }

    /// <summary>The transport's metrics (errors by status), or null.</summary>
    protected TransferMetrics? Metrics { get; }

    /// <summary>This peer's metrics (completed operations, received messages), once the peer is known; or null.</summary>
    protected TransferMetrics.PeerMetrics? PeerMetrics { get; set; }

    /// <summary>Received messages, in order: the transport writes them, <see cref="ReceiveAsync"/> reads them; a fault
    /// completes the writer.</summary>
    protected Channel<TransferMessage> Incoming { get; }

    /// <summary>Cancelled by the fault: ends the transport's loops.</summary>
    protected CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>Why the connection failed ("" while it has not).</summary>
    protected string FaultReason => _faultReason;

    /// <summary>The reason of a timed-out operation: "no completion within N s".</summary>
    protected string TimeoutReason { get; }

    /// <inheritdoc/>
    public abstract Task WriteAsync(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public abstract Task ReadAsync(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public abstract Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public abstract Task SubmitAsync(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public async ValueTask<TransferMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await Incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            var status = Fault ?? TransferStatus.Closed;
            throw new TransferException(status, $"connection to {PeerName} ended ({status.Name()}): {_faultReason}", e);
        }
    }

    /// <summary>Closes the connection (<see cref="TransferStatus.Closed"/>: pending operations fail with it), waits for
    /// the transport's loops and lets it free what it holds (<see cref="OnDisposed"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        Fail(TransferStatus.Closed, "closed locally", null);
        try
        {
            await WhenLoopsEnded().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            // The loops end by their socket closing.
        }

        OnDisposed();
        DisposeShutdown();
    }

    /// <summary>Starts the timeout sweep (nothing when the operation timeout is infinite). Call once, when the
    /// transport starts its loops.</summary>
    protected void StartTimeoutSweep()
    {
        if (_timeoutTicks == long.MaxValue)
        {
            return;
        }

        var period = TimeSpan.FromTicks(Math.Clamp(Settings.OperationTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 5, TimeSpan.TicksPerSecond));
        var sweeper = Time.CreateTimer(static s => ((TransferConnectionBase)s!).Sweep(), this, period, period);
        // A full fence: either the fault sees the timer, or the timer's owner sees the fault.
        Interlocked.Exchange(ref _sweeper, sweeper);
        if (Fault is not null)
        {
            sweeper.Dispose();
        }
    }

    /// <summary>The deadline (a <see cref="Time"/> timestamp) of an operation issued now; <see cref="long.MaxValue"/>
    /// when the operation timeout is infinite.</summary>
    protected long NewDeadline() => _timeoutTicks == long.MaxValue ? long.MaxValue : Time.GetTimestamp() + _timeoutTicks;

    /// <summary>A failed Task for an operation that cannot be issued because the connection has failed, or null
    /// while it is usable.</summary>
    protected Task? Unusable()
    {
        var fault = Fault;
        return fault is null
            ? null
            : Failed(TransferStatusNames.ForOperationsAfter(fault.Value), $"connection to {PeerName} is unusable ({fault.Value.Name()}): {_faultReason}");
    }

    /// <summary>A Task failed with <paramref name="status"/> (counted as a completion error).</summary>
    protected Task Failed(TransferStatus status, string message)
    {
        Metrics?.CompletionError(Kind, status);
        return Task.FromException(new TransferException(status, message));
    }

    /// <summary>Completes <paramref name="operation"/>'s Task: success counts the peer's completed operation; a failure
    /// counts a completion error and faults the Task with a <see cref="TransferException"/>. The caller makes sure it
    /// completes each operation once and has released what the operation held.</summary>
    protected void CompleteOperation(PendingOperation operation, TransferStatus status, string? reason)
    {
        if (status == TransferStatus.Success)
        {
            PeerMetrics?.Completed(operation.Op, operation.Bytes);
            operation.TrySetResult();
        }
        else
        {
            Metrics?.CompletionError(Kind, status);
            operation.TrySetException(new TransferException(status,
                $"{operation.Op} of {operation.Bytes} bytes to {PeerName} failed ({status.Name()}){(reason is null ? "" : ": " + reason)}"));
        }
    }

    /// <summary>Faults the connection, once: the first fault wins and later calls return at once (see the class
    /// remarks for what follows). Safe from any thread, including the transport's own loops.</summary>
    protected void Fail(TransferStatus status, string reason, Exception? error)
    {
        if (Interlocked.CompareExchange(ref _fault, (int)status, NoFault) != NoFault)
        {
            return;
        }

        _faultReason = error is null ? reason : $"{reason}: {error.Message}";
        if (status != TransferStatus.Closed && _logger is { } logger)
        {
            TransferLog.ConnectionLost(logger, PeerName, Kind.Name(), status.Name(), _faultReason);
        }

        _sweeper?.Dispose();
        try
        {
            _shutdown.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        Abort(status);
        Incoming.Writer.TryComplete(new TransferException(status, _faultReason));
        FailPending(TransferStatusNames.ForOperationsAfter(status), _faultReason);
        Detach();
        _completion.TrySetResult();
    }

    private void Sweep() => SweepTimeouts(Time.GetTimestamp());

    /// <summary>Disposes the shutdown source (idempotent), for a transport that frees a connection that never started.</summary>
    protected void DisposeShutdown() => _shutdown.Dispose();

    /// <summary>After a fault: stop the wire, so nothing more reaches the peer or the operations' memory (RDMA: the
    /// queue pair to ERR; TCP: close the socket). Called once, before the pending operations fail.</summary>
    protected abstract void Abort(TransferStatus status);

    /// <summary>After a fault: take every pending operation out of the transport's tables and fail it with
    /// <paramref name="status"/> and <paramref name="reason"/>. Called once.</summary>
    protected abstract void FailPending(TransferStatus status, string reason);

    /// <summary>After a fault: tell the transport the connection is gone. Called once.</summary>
    protected abstract void Detach();

    /// <summary>The sweep: time out the operations whose <see cref="PendingOperation.Deadline"/> is at or before
    /// <paramref name="now"/> (a <see cref="Time"/> timestamp), with <see cref="TimeoutReason"/>.</summary>
    protected abstract void SweepTimeouts(long now);

    /// <summary>Completes when the transport's loops have ended (they end on <see cref="ShutdownToken"/>).</summary>
    protected abstract Task WhenLoopsEnded();

    /// <summary>On dispose, after the loops have ended: free what the transport holds.</summary>
    protected abstract void OnDisposed();
}

/// <summary>An operation a connection started and the peer has yet to complete: its Task, what it moves and when it
/// times out.</summary>
internal abstract class PendingOperation(TransferOp op, int bytes, long deadline) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
{
    /// <summary>The operation.</summary>
    public TransferOp Op { get; } = op;

    /// <summary>Bytes it moves.</summary>
    public int Bytes { get; } = bytes;

    /// <summary>When it times out (a timestamp of the connection's clock; <see cref="long.MaxValue"/>: never).</summary>
    public long Deadline { get; } = deadline;

    /// <summary>The caller's cancellation, unregistered when the operation completes.</summary>
    public CancellationTokenRegistration Cancellation { get; set; }
}
