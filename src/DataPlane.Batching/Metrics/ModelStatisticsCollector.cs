using DataPlane.Protocol.Inference;

namespace DataPlane.Batching.Metrics;

/// <summary>Cumulative statistics of one model in the form of the protocol's ModelStatistics RPC,
/// so perf_analyzer and Triton tooling can read the front end's own queue and compute split.
/// "compute_infer" is the upstream call as the front end sees it. Lock-free counters.</summary>
public sealed class ModelStatisticsCollector
{
    private readonly BatchCounter[] _batches;
    private long _successCount, _successNs, _failCount, _failNs, _queueCount, _queueNs;
    private long _inferCount, _inferNs, _inferenceCount, _executionCount, _lastInferenceMs;

    public ModelStatisticsCollector(int maxBatchSize) => _batches = new BatchCounter[Math.Max(1, maxBatchSize) + 1];

    public void RequestSucceeded(long durationNs)
    {
        Interlocked.Increment(ref _successCount);
        Interlocked.Add(ref _successNs, durationNs);
        Volatile.Write(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    public void RequestFailed(long durationNs)
    {
        Interlocked.Increment(ref _failCount);
        Interlocked.Add(ref _failNs, durationNs);
    }

    public void Queued(long durationNs)
    {
        Interlocked.Increment(ref _queueCount);
        Interlocked.Add(ref _queueNs, durationNs);
    }

    /// <summary>Records a successful batch of <paramref name="requests"/> requests and <paramref name="rows"/> rows.</summary>
    public void BatchExecuted(int requests, long rows, long durationNs)
    {
        Interlocked.Add(ref _inferCount, requests);
        Interlocked.Add(ref _inferNs, durationNs * requests);
        Interlocked.Add(ref _inferenceCount, rows);
        Interlocked.Increment(ref _executionCount);
        if (rows < _batches.Length)
        {
            ref var b = ref _batches[rows];
            Interlocked.Increment(ref b.Count);
            Interlocked.Add(ref b.Ns, durationNs);
        }
    }

    public ModelStatistics Snapshot(string name, string version)
    {
        var s = new ModelStatistics
        {
            Name = name,
            Version = version,
            LastInference = (ulong)Volatile.Read(ref _lastInferenceMs),
            InferenceCount = (ulong)Volatile.Read(ref _inferenceCount),
            ExecutionCount = (ulong)Volatile.Read(ref _executionCount),
            InferenceStats = new InferStatistics
            {
                Success = Duration(ref _successCount, ref _successNs),
                Fail = Duration(ref _failCount, ref _failNs),
                Queue = Duration(ref _queueCount, ref _queueNs),
                ComputeInput = new StatisticDuration(),
                ComputeInfer = Duration(ref _inferCount, ref _inferNs),
                ComputeOutput = new StatisticDuration(),
                CacheHit = new StatisticDuration(),
                CacheMiss = new StatisticDuration(),
            },
        };
        for (int size = 1; size < _batches.Length; size++)
        {
            long count = Volatile.Read(ref _batches[size].Count);
            if (count > 0)
            {
                s.BatchStats.Add(new InferBatchStatistics
                {
                    BatchSize = (ulong)size,
                    ComputeInput = new StatisticDuration(),
                    ComputeInfer = new StatisticDuration { Count = (ulong)count, Ns = (ulong)Volatile.Read(ref _batches[size].Ns) },
                    ComputeOutput = new StatisticDuration(),
                });
            }
        }

        return s;
    }

    private static StatisticDuration Duration(ref long count, ref long ns) =>
        new() { Count = (ulong)Volatile.Read(ref count), Ns = (ulong)Volatile.Read(ref ns) };

    private struct BatchCounter
    {
        public long Count;
        public long Ns;
    }
}
