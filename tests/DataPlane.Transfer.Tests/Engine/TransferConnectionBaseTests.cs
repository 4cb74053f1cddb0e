using System.Collections.Concurrent;
using System.Threading.Channels;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace DataPlane.Transfer.Tests.Engine;

/// <summary>The fault latch, the timeout sweep and the completions every transport's connection inherits, on a
/// connection without a wire and a clock the test moves.</summary>
public class TransferConnectionBaseTests
{
    private static readonly ConnectionSettings s_settings = new() { OperationTimeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task The_first_fault_wins_and_later_faults_change_nothing()
    {
        var logger = new ListLogger();
        var c = new TestConnection(s_settings, new FakeTimeProvider(), logger: logger);

        c.FailNow(TransferStatus.ConnectionLost, "the peer reset", null);
        c.FailNow(TransferStatus.Timeout, "late", null);
        c.FailNow(TransferStatus.Closed, "closed locally", null);

        Assert.Equal(TransferStatus.ConnectionLost, c.Fault);
        Assert.Equal(["abort ConnectionLost", "fail-pending ConnectionLost the peer reset", "detach"], c.Calls);
        Assert.True(c.Completion.IsCompletedSuccessfully);
        var line = Assert.Single(logger.Lines);
        Assert.Equal("Connection to peer over tcp lost (connection_lost): the peer reset", line);
        var e = await Assert.ThrowsAsync<TransferException>(() => c.ReceiveAsync().AsTask());
        Assert.Equal(TransferStatus.ConnectionLost, e.Status);
        Assert.Equal("connection to peer ended (connection_lost): the peer reset", e.Message);
    }

    [Theory]
    [InlineData(TransferStatus.ConnectionLost, TransferStatus.ConnectionLost)]
    [InlineData(TransferStatus.Closed, TransferStatus.Closed)]
    [InlineData(TransferStatus.RemoteAccessError, TransferStatus.Flushed)]
    [InlineData(TransferStatus.Timeout, TransferStatus.Flushed)]
    public async Task Pending_and_later_operations_fail_as_the_fault_says(TransferStatus fault, TransferStatus others)
    {
        var c = new TestConnection(s_settings, new FakeTimeProvider());
        var pending = c.SendAsync(new byte[10]);

        c.FailNow(fault, "broken", new IOException("reset by peer"));
        var later = c.SendAsync(new byte[20]);

        var e = await Assert.ThrowsAsync<TransferException>(() => pending);
        Assert.Equal(others, e.Status);
        Assert.Equal($"Send of 10 bytes to peer failed ({others.Name()}): broken: reset by peer", e.Message);
        e = await Assert.ThrowsAsync<TransferException>(() => later);
        Assert.Equal(others, e.Status);
        Assert.Equal($"connection to peer is unusable ({fault.Name()}): broken: reset by peer", e.Message);
        Assert.Empty(c.Pending);
    }

    [Fact]
    public void Whoever_sees_an_operation_fail_finds_the_fault_set_the_wire_stopped_and_receiving_ended()
    {
        var c = new TestConnection(s_settings, new FakeTimeProvider());
        _ = c.SendAsync(new byte[1]);

        c.FailNow(TransferStatus.ConnectionLost, "gone", null);

        var seen = c.SeenByFailPending!.Value;
        Assert.Equal(TransferStatus.ConnectionLost, seen.Fault);
        Assert.True(seen.Aborted);
        Assert.True(seen.ReceiveEnded);
        Assert.True(seen.ShutdownRequested);
        Assert.False(seen.Completed);
    }

    [Fact]
    public void Overdue_operations_time_out_on_the_sweep_and_the_connection_stays()
    {
        var time = new FakeTimeProvider();
        var c = new TestConnection(s_settings, time);
        c.Start();
        var first = c.SendAsync(new byte[4]);
        time.Advance(TimeSpan.FromMilliseconds(500));
        var second = c.SendAsync(new byte[8]);

        // The sweep runs every quarter of the timeout: at 250, 500, 750 ms nothing is due yet.
        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(3, c.Sweeps);
        Assert.False(first.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(4, c.Sweeps);
        var e = Assert.IsType<TransferException>(first.Exception?.InnerException);
        Assert.Equal(TransferStatus.Timeout, e.Status);
        Assert.Equal("Send of 4 bytes to peer failed (timeout): no completion within 1 s", e.Message);
        Assert.False(second.IsCompleted);
        Assert.Null(c.Fault);

        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(TransferStatus.Timeout, Assert.IsType<TransferException>(second.Exception?.InnerException).Status);
        Assert.Empty(c.Pending);
    }

    [Fact]
    public void An_operation_answered_in_time_is_not_swept()
    {
        var time = new FakeTimeProvider();
        var c = new TestConnection(s_settings, time);
        c.Start();
        var op = c.SendAsync(new byte[4]);
        time.Advance(TimeSpan.FromMilliseconds(900));

        c.CompleteAll(TransferStatus.Success);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(op.IsCompletedSuccessfully);
    }

    [Fact]
    public void A_fault_stops_the_sweep()
    {
        var time = new FakeTimeProvider();
        var c = new TestConnection(s_settings, time);
        c.Start();
        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(1, c.Sweeps);

        c.FailNow(TransferStatus.ConnectionLost, "gone", null);
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, c.Sweeps);
    }

    [Fact]
    public void A_connection_that_failed_before_its_sweep_started_gets_none()
    {
        var time = new FakeTimeProvider();
        var c = new TestConnection(s_settings, time);

        c.FailNow(TransferStatus.ConnectionLost, "gone at once", null);
        c.Start();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, c.Sweeps);
    }

    [Fact]
    public void An_infinite_timeout_has_no_sweep_and_no_deadline()
    {
        var time = new FakeTimeProvider();
        var c = new TestConnection(s_settings with { OperationTimeout = Timeout.InfiniteTimeSpan }, time);
        c.Start();
        var op = c.SendAsync(new byte[4]);

        time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(0, c.Sweeps);
        Assert.False(op.IsCompleted);
        Assert.Equal(long.MaxValue, Assert.Single(c.Pending).Value.Deadline);
    }

    [Fact]
    public async Task Dispose_closes_without_a_warning_then_waits_for_the_loops_then_frees()
    {
        var logger = new ListLogger();
        var c = new TestConnection(s_settings, new FakeTimeProvider(), logger: logger);
        var op = c.SendAsync(new byte[3]);

        var dispose = c.DisposeAsync().AsTask();

        Assert.Equal(TransferStatus.Closed, c.Fault);
        Assert.Equal(TransferStatus.Closed, (await Assert.ThrowsAsync<TransferException>(() => op)).Status);
        Assert.DoesNotContain("disposed", c.Calls);
        Assert.False(dispose.IsCompleted);
        c.Loops.SetResult();
        await dispose.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("disposed", c.Calls[^1]);
        Assert.Empty(logger.Lines);
    }

    [Fact]
    public async Task Completions_are_counted_before_their_tasks_complete()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        var c = new TestConnection(s_settings, new FakeTimeProvider(), metrics);
        var ok = c.SendAsync(new byte[100]);
        c.CompleteAll(TransferStatus.Success);
        var refused = c.SendAsync(new byte[5]);
        c.CompleteAll(TransferStatus.RemoteInvalidRequest);

        await ok;
        Assert.Equal(TransferStatus.RemoteInvalidRequest, (await Assert.ThrowsAsync<TransferException>(() => refused)).Status);
        Assert.Equal(100, await TestSupport.SampleAsync(registry, "dataplane_transfer_bytes_total", ("peer", "peer"), ("op", "send")));
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_completion_errors_total", ("transport", "tcp"), ("status", "remote_invalid_request")));
    }

    /// <summary>A connection with tables and hooks but no wire: the test completes its operations.</summary>
    private sealed class TestConnection : TransferConnectionBase
    {
        private long _nextId;

        public TestConnection(ConnectionSettings settings, TimeProvider time, TransferMetrics? metrics = null, ILogger? logger = null)
            : base(TransportKind.Tcp, settings, FlowClass.Default, Channel.CreateUnbounded<TransferMessage>(), time, metrics, logger)
        {
            PeerName = "peer";
            PeerMetrics = metrics?.ForPeer(TransportKind.Tcp, PeerName);
        }

        public ConcurrentDictionary<long, Op> Pending { get; } = new();

        public List<string> Calls { get; } = [];

        public int Sweeps { get; private set; }

        public TaskCompletionSource Loops { get; } = new();

        public (TransferStatus? Fault, bool Aborted, bool ReceiveEnded, bool ShutdownRequested, bool Completed)? SeenByFailPending { get; private set; }

        public void Start() => StartTimeoutSweep();

        public void FailNow(TransferStatus status, string reason, Exception? error) => Fail(status, reason, error);

        public void CompleteAll(TransferStatus status)
        {
            foreach (var id in Pending.Keys)
            {
                if (Pending.TryRemove(id, out var op))
                {
                    CompleteOperation(op, status, status == TransferStatus.Success ? null : "refused by the peer");
                }
            }
        }

        public override Task WriteAsync(RegisteredSlice source, RemoteRegion destination, ulong remoteOffset, CancellationToken cancellationToken = default) =>
            Issue(TransferOp.Write, source.Length);

        public override Task ReadAsync(RegisteredSlice destination, RemoteRegion source, ulong remoteOffset, CancellationToken cancellationToken = default) =>
            Issue(TransferOp.Read, destination.Length);

        public override Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
            Issue(TransferOp.Send, message.Length);

        public override Task SubmitAsync(IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        protected override void Abort(TransferStatus status) => Calls.Add($"abort {status}");

        protected override void FailPending(TransferStatus status, string reason)
        {
            SeenByFailPending = (Fault, Calls.Contains($"abort {Fault}"), Incoming.Reader.Completion.IsCompleted, ShutdownToken.IsCancellationRequested,
                Completion.IsCompleted);
            Calls.Add($"fail-pending {status} {reason}");
            foreach (var id in Pending.Keys)
            {
                if (Pending.TryRemove(id, out var op))
                {
                    CompleteOperation(op, status, reason);
                }
            }
        }

        protected override void Detach() => Calls.Add("detach");

        protected override void SweepTimeouts(long now)
        {
            Sweeps++;
            foreach (var (id, op) in Pending)
            {
                if (op.Deadline <= now && Pending.TryRemove(id, out _))
                {
                    CompleteOperation(op, TransferStatus.Timeout, TimeoutReason);
                }
            }
        }

        protected override Task WhenLoopsEnded() => Loops.Task;

        protected override void OnDisposed() => Calls.Add("disposed");

        private Task Issue(TransferOp kind, int bytes)
        {
            if (Unusable() is { } failed)
            {
                return failed;
            }

            var op = new Op(kind, bytes, NewDeadline());
            Pending[Interlocked.Increment(ref _nextId)] = op;
            return op.Task;
        }
    }

    private sealed class Op(TransferOp kind, int bytes, long deadline) : PendingOperation(kind, bytes, deadline);

    /// <summary>Keeps the formatted warnings and errors.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
