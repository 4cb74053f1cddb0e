using DataPlane.Protocol.Inference;

namespace DataPlane.Simulation.Execution;

/// <summary>Cumulative statistics of one simulated model in the form of the ModelStatistics RPC:
/// requests that succeeded or failed (with their total time from arrival to answer), time queued
/// for a free instance, executions (compute_infer) overall and per batch size. An LLM request is
/// one execution of batch size 1 whose compute time is its whole stream.</summary>
internal sealed class SimulatedModelStatistics
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, Duration> _batches = [];
    private Duration _success, _fail, _queue, _infer;
    private long _inferenceCount, _executionCount, _lastInferenceMs;

    public void Succeeded(long durationNs)
    {
        lock (_lock)
        {
            _success.Add(durationNs);
            _lastInferenceMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        }
    }

    public void Failed(long durationNs)
    {
        lock (_lock)
        {
            _fail.Add(durationNs);
        }
    }

    /// <summary>Records one execution of <paramref name="rows"/> rows after <paramref name="queueNs"/>
    /// waiting for an instance, taking <paramref name="computeNs"/>.</summary>
    public void Executed(long rows, long queueNs, long computeNs)
    {
        lock (_lock)
        {
            _queue.Add(queueNs);
            _infer.Add(computeNs);
            _inferenceCount += rows;
            _executionCount++;
            _batches.TryGetValue(rows, out var b);
            b.Add(computeNs);
            _batches[rows] = b;
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
                    ComputeInput = new StatisticDuration(),
                    ComputeInfer = _infer.ToProto(),
                    ComputeOutput = new StatisticDuration(),
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
}
