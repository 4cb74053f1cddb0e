using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Protocol.Sequences;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation.Sequences;

/// <summary>What the sequence batcher of one loaded model has seen: the requests that reached it (refused ones
/// included) and the largest number of steps of one sequence that ever executed at once, which Triton's direct
/// sequence batcher keeps at 1.</summary>
/// <param name="Requests">Requests that reached the sequence batcher.</param>
/// <param name="MaxConcurrentSteps">Most steps of one sequence executing at the same time.</param>
public readonly record struct SimulatedSequenceRecord(long Requests, int MaxConcurrentSteps);

/// <summary>The direct sequence batcher of one simulated sequence model, with Triton's rules: a step names an active
/// sequence or starts one (START); a START on an active id restarts it (a warning, not an error); the state is
/// dropped once the END step is queued, or when the sequence has had no request for
/// <see cref="SimulatedModelOptions.MaxSequenceIdle"/> and has none waiting (the reaper; expiry is also checked
/// whenever the id is used, so a virtual clock decides it alone). The steps of one sequence execute one at a time
/// in arrival order (a serial queue per sequence), different sequences concurrently on the model's instances. A
/// step's output is the running sum of the sequence's inputs, this one included (INT32, wrapping); START resets the
/// sum before adding. Triton's slots and backlog are not simulated: a sequence waits for a free instance per step.</summary>
internal sealed partial class SequenceBatcher : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<SequenceKey, Sequence> _active = [];
    private readonly string _model;
    private readonly ExecutorPool _pool;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;
    private readonly ITimer _reaper;
    private readonly ILogger _logger;
    private long _requests;
    private int _maxConcurrent;

    public SequenceBatcher(SimulatedModelOptions options, ExecutorPool pool, TimeProvider time, ILogger logger)
    {
        _model = options.Name;
        _pool = pool;
        _time = time;
        _idle = options.MaxSequenceIdle;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Max(_idle.Ticks / 2, TimeSpan.TicksPerMillisecond * 10));
        _reaper = time.CreateTimer(static state => ((SequenceBatcher)state!).Reap(), this, period, period);
    }

    /// <summary>What the batcher has seen so far.</summary>
    public SimulatedSequenceRecord Record => new(Interlocked.Read(ref _requests), Volatile.Read(ref _maxConcurrent));

    /// <summary>Sequences with state (active, not ended and not expired as of the last check).</summary>
    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _active.Count;
            }
        }
    }

    /// <summary>Queues one step of batch size 1 adding <paramref name="value"/> to sequence <paramref name="key"/>.
    /// Null and the step's result (the running sum as one INT32) when admitted; Triton's INVALID_ARGUMENT when the
    /// request names no sequence, or a sequence that is not active without START.</summary>
    public RequestError? TryEnqueue(SequenceKey key, int value, out Task<ExecutionResult> result)
    {
        result = Task.FromResult(default(ExecutionResult));
        Interlocked.Increment(ref _requests);
        if (!key.IsSequence)
        {
            return TritonErrors.SequenceIdRequired(_model);
        }

        var identity = key.Identity;
        var step = new Step(value, key.Start);
        bool run = false;
        Sequence? sequence;
        lock (_lock)
        {
            if (_active.TryGetValue(identity, out sequence) && IsExpired(sequence))
            {
                _active.Remove(identity);
                Log.Expired(_logger, identity.ToString(), _model);
                sequence = null;
            }

            if (sequence is null)
            {
                if (!key.Start)
                {
                    var e = TritonErrors.SequenceStartRequired(identity.ToString(), _model);
                    return new RequestError(e.StatusCode, e.Status.Detail);
                }

                sequence = new Sequence();
                _active[identity] = sequence;
            }
            else if (key.Start)
            {
                Log.Restarted(_logger, identity.ToString(), _model);
            }

            sequence.LastArrival = _time.GetTimestamp();
            sequence.Pending++;
            sequence.Waiting.Enqueue(step);
            if (key.End)
            {
                _active.Remove(identity);
            }

            if (!sequence.Running)
            {
                sequence.Running = true;
                run = true;
            }
        }

        if (run)
        {
            _ = RunAsync(sequence);
        }

        result = step.Completion.Task;
        return null;
    }

    /// <summary>Executes the waiting steps of <paramref name="sequence"/> one after the other.</summary>
    private async Task RunAsync(Sequence sequence)
    {
        while (true)
        {
            Step? step;
            lock (_lock)
            {
                if (!sequence.Waiting.TryDequeue(out step))
                {
                    sequence.Running = false;
                    return;
                }
            }

            try
            {
                var executed = await _pool.ExecuteAsync(() => Apply(sequence, step), 1, CancellationToken.None).ConfigureAwait(false);
                step.Completion.TrySetResult(executed);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or ArgumentException)
            {
                step.Completion.TrySetException(e);
            }
            finally
            {
                if (step.Applied)
                {
                    Interlocked.Decrement(ref sequence.Executing);
                }

                lock (_lock)
                {
                    sequence.Pending--;
                }
            }
        }
    }

    /// <summary>Runs on the executor's thread: adds the step to the running sum.</summary>
    private byte[][] Apply(Sequence sequence, Step step)
    {
        step.Applied = true;
        int executing = Interlocked.Increment(ref sequence.Executing);
        int max = Volatile.Read(ref _maxConcurrent);
        while (executing > max)
        {
            int seen = Interlocked.CompareExchange(ref _maxConcurrent, executing, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }

        sequence.Sum = unchecked((step.Start ? 0 : sequence.Sum) + step.Value);
        var output = new byte[sizeof(int)];
        BinaryPrimitives.WriteInt32LittleEndian(output, sequence.Sum);
        return [output];
    }

    /// <summary>Idle with nothing waiting for longer than the model allows. Called under the lock.</summary>
    private bool IsExpired(Sequence sequence) => sequence.Pending == 0 && _time.GetElapsedTime(sequence.LastArrival) >= _idle;

    /// <summary>The reaper: drops the expired sequences.</summary>
    private void Reap()
    {
        lock (_lock)
        {
            foreach (var id in _active.Where(p => IsExpired(p.Value)).Select(p => p.Key).ToList())
            {
                _active.Remove(id);
                Log.Expired(_logger, id.ToString(), _model);
            }
        }
    }

    public void Dispose() => _reaper.Dispose();

    /// <summary>One sequence's state; every field but <see cref="Sum"/> and <see cref="Executing"/> is guarded by the
    /// batcher's lock, <see cref="Sum"/> by the serial execution of its steps.</summary>
    private sealed class Sequence
    {
        public readonly Queue<Step> Waiting = new();
        public bool Running;
        public int Pending;
        public long LastArrival;
        public int Sum;
        public int Executing;
    }

    private sealed class Step(int value, bool start)
    {
        public int Value { get; } = value;

        public bool Start { get; } = start;

        public bool Applied { get; set; }

        public TaskCompletionSource<ExecutionResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7201, Level = LogLevel.Warning,
            Message = "Sequence {Sequence} of model '{Model}' started again before it ended; its queued steps finish first, then the new sequence continues in its place")]
        public static partial void Restarted(ILogger logger, string sequence, string model);

        [LoggerMessage(EventId = 7202, Level = LogLevel.Debug, Message = "Simulated Triton dropped idle sequence {Sequence} of model '{Model}'")]
        public static partial void Expired(ILogger logger, string sequence, string model);
    }
}
