using System.Globalization;
using DataPlane.Protocol.Inference;

namespace DataPlane.Simulation.Execution;

/// <summary>Cumulative statistics of one loaded simulated model, counted as Triton's core counts them
/// (ModelStatistics RPC):
/// <list type="bullet">
/// <item>per successful request: <c>success</c> (arrival to answer), <c>queue</c> (waiting for an instance) and
/// <c>compute_input</c>, <c>compute_infer</c>, <c>compute_output</c>; so <c>queue.count</c> and the three compute
/// counts always equal <c>success.count</c>;</item>
/// <item>per failed request that reached execution: <c>fail</c> (requests refused by validation are not counted);</item>
/// <item>per execution: <c>execution_count</c> +1, <c>inference_count</c> += its batch size, one more execution in
/// the <c>batch_stats</c> entry of that size, and <c>last_inference</c> (ms since the epoch);</item>
/// <item>decoupled (LLM) requests count once, as one execution of batch size 1, when their last response is sent;
/// each response adds to <c>response_stats</c> under its index ("0", "1", …), an empty final response under
/// <c>empty_response</c>.</item>
/// </list></summary>
internal sealed class SimulatedModelStatistics
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly SortedDictionary<long, Duration> _batches = [];
    private readonly SortedDictionary<int, ResponseDurations> _responses = [];
    private Duration _success, _fail, _queue, _input, _infer, _output;
    private long _inferenceCount, _executionCount, _lastInferenceMs;

    public SimulatedModelStatistics(TimeProvider time) => _time = time;

    /// <summary>A request answered successfully after <paramref name="requestNs"/>, of which it waited
    /// <paramref name="queueNs"/> for an instance and spent the rest in its three compute phases.</summary>
    public void Succeeded(long requestNs, long queueNs, long inputNs, long inferNs, long outputNs)
    {
        lock (_lock)
        {
            _success.Add(requestNs);
            _queue.Add(queueNs);
            _input.Add(inputNs);
            _infer.Add(inferNs);
            _output.Add(outputNs);
        }
    }

    /// <summary>A request that failed during or after execution.</summary>
    public void Failed(long durationNs)
    {
        lock (_lock)
        {
            _fail.Add(durationNs);
        }
    }

    /// <summary>One execution of a batch of <paramref name="rows"/> that took <paramref name="computeNs"/>.</summary>
    public void Executed(long rows, long computeNs)
    {
        lock (_lock)
        {
            _inferenceCount += rows;
            _executionCount++;
            _batches.TryGetValue(rows, out var b);
            b.Add(computeNs);
            _batches[rows] = b;
            _lastInferenceMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        }
    }

    /// <summary>Response <paramref name="index"/> of a decoupled request was sent: <paramref name="inferNs"/> producing
    /// it, <paramref name="outputNs"/> writing it.</summary>
    public void Responded(int index, long inferNs, long outputNs)
    {
        lock (_lock)
        {
            _responses.TryGetValue(index, out var r);
            r.ComputeInfer.Add(inferNs);
            r.ComputeOutput.Add(outputNs);
            r.Success.Add(inferNs + outputNs);
            _responses[index] = r;
        }
    }

    /// <summary>The empty final response, at <paramref name="index"/>, of a decoupled request was sent.</summary>
    public void RespondedEmpty(int index, long durationNs)
    {
        lock (_lock)
        {
            _responses.TryGetValue(index, out var r);
            r.Empty.Add(durationNs);
            _responses[index] = r;
        }
    }

    public ModelStatistics Snapshot(string name, string version)
    {
        lock (_lock)
        {
            var s = new ModelStatistics
            {
                Name = name,
                Version = version,
                LastInference = (ulong)_lastInferenceMs,
                InferenceCount = (ulong)_inferenceCount,
                ExecutionCount = (ulong)_executionCount,
                InferenceStats = new InferStatistics
                {
                    Success = _success.ToProto(),
                    Fail = _fail.ToProto(),
                    Queue = _queue.ToProto(),
                    ComputeInput = _input.ToProto(),
                    ComputeInfer = _infer.ToProto(),
                    ComputeOutput = _output.ToProto(),
                    CacheHit = new StatisticDuration(),
                    CacheMiss = new StatisticDuration(),
                },
            };
            foreach (var (size, d) in _batches)
            {
                s.BatchStats.Add(new InferBatchStatistics
                {
                    BatchSize = (ulong)size,
                    ComputeInput = new StatisticDuration { Count = (ulong)d.Count },
                    ComputeInfer = d.ToProto(),
                    ComputeOutput = new StatisticDuration { Count = (ulong)d.Count },
                });
            }

            // Keys sort as strings in Triton's map ("10" before "2"); a proto map keeps insertion order.
            foreach (var (index, r) in _responses.OrderBy(p => p.Key.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal))
            {
                s.ResponseStats[index.ToString(CultureInfo.InvariantCulture)] = new InferResponseStatistics
                {
                    ComputeInfer = r.ComputeInfer.ToProto(),
                    ComputeOutput = r.ComputeOutput.ToProto(),
                    Success = r.Success.ToProto(),
                    Fail = new StatisticDuration(),
                    EmptyResponse = r.Empty.ToProto(),
                    Cancel = new StatisticDuration(),
                };
            }

            return s;
        }
    }

    private struct Duration
    {
        public long Count;
        public long Ns;

        public void Add(long ns)
        {
            Count++;
            Ns += Math.Max(0, ns);
        }

        public readonly StatisticDuration ToProto() => new() { Count = (ulong)Count, Ns = (ulong)Ns };
    }

    private struct ResponseDurations
    {
        public Duration ComputeInfer;
        public Duration ComputeOutput;
        public Duration Success;
        public Duration Empty;
    }
}
