using DataPlane.Interop.Timing;
using DataPlane.Simulation.Options;

namespace DataPlane.Simulation.Execution;

/// <summary>The instances of one simulated tensor or sequence model: <see cref="SimulatedModelOptions.Instances"/>
/// executors, each a dedicated thread that runs one request at a time (a request is one batch: the
/// simulation does no batching of its own). An execution computes the outputs and sleeps until
/// <c>base + per_item × rows + jitter</c> after it started, with <see cref="PreciseSleep"/>, so the
/// latency holds to tens of microseconds and no core spins. Requests wait FIFO for a free executor;
/// one cancelled while waiting leaves the queue at once. A running execution is not interrupted (a
/// GPU finishes its batch), but its caller may stop waiting for it. Each execution is reported to the
/// model's statistics (execution count, batch statistics).</summary>
internal sealed class ExecutorPool : IDisposable
{
    private readonly object _gate = new();
    private readonly LinkedList<Execution> _queue = new();
    private readonly Thread[] _threads;
    private readonly SimulatedModelOptions _options;
    private readonly Random _jitter;
    private readonly long _jitterNs;
    private readonly SimulatedModelStatistics _statistics;
    private bool _stopped;

    public ExecutorPool(SimulatedModelOptions options, SimulatedModelStatistics statistics)
    {
        _options = options;
        _statistics = statistics;
        _jitterNs = ToNanoseconds(options.Jitter);
        _jitter = new Random(options.JitterSeed);
        _threads = new Thread[options.Instances];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"sim-{options.Name}-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Queues one execution of <paramref name="rows"/> rows computing
    /// <paramref name="outputs"/>; completes with their raw contents, in the same order. Cancelled
    /// while still queued, the task is cancelled; when the pool is disposed first, it faults with
    /// <see cref="ObjectDisposedException"/>.</summary>
    public Task<ExecutionResult> ExecuteAsync(PlannedOutput[] outputs, long rows, CancellationToken cancellationToken) =>
        ExecuteAsync(() => Compute(outputs), rows, cancellationToken);

    /// <summary>Queues one execution of <paramref name="rows"/> rows whose outputs <paramref name="compute"/> returns
    /// (called on the executor's thread when the execution starts); otherwise as above.</summary>
    public Task<ExecutionResult> ExecuteAsync(Func<byte[][]> compute, long rows, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<ExecutionResult>(cancellationToken);
        }

        var execution = new Execution(this, compute, rows, PreciseSleep.MonotonicNanoseconds());
        if (cancellationToken.CanBeCanceled)
        {
            // Registered before queueing: a token cancelled meanwhile marks the execution, which is then never queued.
            execution.Registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((Execution)state!).Cancel(token), execution);
        }

        lock (_gate)
        {
            if (_stopped)
            {
                execution.Completion.TrySetException(new ObjectDisposedException(nameof(ExecutorPool), "the simulated Triton was stopped"));
            }
            else if (!execution.CancelRequested)
            {
                execution.Node = _queue.AddLast(execution);
                Monitor.Pulse(_gate);
            }
            else
            {
                execution.Completion.TrySetCanceled(cancellationToken);
            }
        }

        return execution.Completion.Task;
    }

    private void Run()
    {
        while (true)
        {
            Execution execution;
            long jitter;
            lock (_gate)
            {
                while (_queue.First is null && !_stopped)
                {
                    Monitor.Wait(_gate);
                }

                if (_stopped)
                {
                    return;
                }

                execution = _queue.First!.Value;
                _queue.RemoveFirst();
                execution.Node = null;
                jitter = _jitterNs == 0 ? 0 : (long)(_jitter.NextDouble() * _jitterNs);
            }

            // Out of the lock: disposing waits for a cancellation callback that may be taking it.
            execution.Registration.Dispose();
            long start = PreciseSleep.MonotonicNanoseconds();
            long due = start + ToNanoseconds(_options.ExecutionTime(execution.Rows)) + jitter;
            byte[][] results;
            try
            {
                results = execution.Compute();
            }
            catch (ArgumentException e)
            {
                execution.Completion.TrySetException(e);
                continue;
            }

            PreciseSleep.Until(due);
            long end = PreciseSleep.MonotonicNanoseconds();
            _statistics.Executed(execution.Rows, end - start);
            execution.Completion.TrySetResult(new ExecutionResult(results, start - execution.EnqueuedNs, end - start));
        }
    }

    private static byte[][] Compute(PlannedOutput[] outputs)
    {
        var results = new byte[outputs.Length][];
        for (int i = 0; i < outputs.Length; i++)
        {
            var source = outputs[i].Source;
            results[i] = SimulatedTransform.Apply(source.DataType, source.Raw.Span);
        }

        return results;
    }

    /// <summary>The cancellation callback: takes a still-queued execution out of the queue.</summary>
    private void Remove(Execution execution, CancellationToken token)
    {
        bool removed = false;
        lock (_gate)
        {
            execution.CancelRequested = true;
            if (execution.Node is { } node)
            {
                _queue.Remove(node);
                execution.Node = null;
                removed = true;
            }
        }

        if (removed)
        {
            execution.Completion.TrySetCanceled(token);
        }
    }

    public void Dispose()
    {
        Execution[] abandoned;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            abandoned = [.. _queue];
            _queue.Clear();
            Monitor.PulseAll(_gate);
        }

        foreach (var execution in abandoned)
        {
            execution.Registration.Dispose();
            execution.Completion.TrySetException(new ObjectDisposedException(nameof(ExecutorPool), "the simulated Triton was stopped"));
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }
    }

    private static long ToNanoseconds(TimeSpan t) => t.Ticks * 100;

    /// <summary>One queued or running request.</summary>
    private sealed class Execution(ExecutorPool pool, Func<byte[][]> compute, long rows, long enqueuedNs)
    {
        public ExecutorPool Pool { get; } = pool;

        public Func<byte[][]> Compute { get; } = compute;

        public long Rows { get; } = rows;

        public long EnqueuedNs { get; } = enqueuedNs;

        public TaskCompletionSource<ExecutionResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Its place in the queue while queued; guarded by the pool's lock.</summary>
        public LinkedListNode<Execution>? Node { get; set; }

        /// <summary>Set by the cancellation callback; guarded by the pool's lock.</summary>
        public bool CancelRequested { get; set; }

        public void Cancel(CancellationToken token) => Pool.Remove(this, token);
    }
}

/// <summary>What an execution produced: the outputs' raw contents, the time it waited for an instance and the time it
/// ran, in nanoseconds.</summary>
internal readonly record struct ExecutionResult(byte[][] Outputs, long QueueNs, long ComputeNs);
