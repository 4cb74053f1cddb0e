using DataPlane.Protocol.Inference;

namespace DataPlane.Batching.Metrics;

/// <summary>Cumulative statistics of one model in the form and with the semantics of Triton's ModelStatistics, so
/// perf_analyzer and Triton tooling read the front end's own split of a request's time:
/// <list type="bullet">
/// <item>per successful request: <c>success</c> (arrival to answer), <c>queue</c> (arrival until its batch left the
/// queue), <c>compute_input</c> (building the upstream request), <c>compute_infer</c> (the upstream call) and
/// <c>compute_output</c> (splitting the answer, writing shared memory) — all five counts equal, as in Triton;</item>
/// <item><c>fail</c>: requests that were admitted and then failed (a deadline in the queue, an upstream error);
/// requests refused at admission (validation, a full queue) are not counted, as in Triton;</item>
/// <item><c>inference_count</c>: rows (the batch sizes of successful requests); <c>execution_count</c>: upstream
/// executions; <c>batch_stats</c>: executions per executed batch size, ascending;</item>
/// <item>streamed requests count once each when they finish, like a decoupled Triton backend; their responses are
/// counted per index in <c>response_stats</c>.</item>
/// </list>Lock-free counters.</summary>
public sealed class ModelStatisticsCollector
{
    private const int MaxResponseIndexes = 64;

    private readonly BatchCounter[] _batches;
    private readonly ResponseCounter[] _responses = new ResponseCounter[MaxResponseIndexes];
    private long _successCount, _successNs, _failCount, _failNs, _queueNs, _inputNs, _inferNs, _outputNs;
    private long _inferenceCount, _executionCount, _lastInferenceMs, _rejected;

    public ModelStatisticsCollector(int maxBatchSize) => _batches = new BatchCounter[Math.Max(1, maxBatchSize) + 1];

    /// <summary>A successful request of <paramref name="rows"/> rows and how its time split.</summary>
    public void RequestSucceeded(long rows, long totalNs, in RequestTimes times)
    {
        Interlocked.Increment(ref _successCount);
        Interlocked.Add(ref _successNs, totalNs);
        Interlocked.Add(ref _queueNs, times.QueueNs);
        Interlocked.Add(ref _inputNs, times.InputNs);
        Interlocked.Add(ref _inferNs, times.InferNs);
        Interlocked.Add(ref _outputNs, times.OutputNs);
        Interlocked.Add(ref _inferenceCount, rows);
        Volatile.Write(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>An admitted request that failed after <paramref name="durationNs"/>.</summary>
    public void RequestFailed(long durationNs)
    {
        Interlocked.Increment(ref _failCount);
        Interlocked.Add(ref _failNs, durationNs);
    }

    /// <summary>A request refused at admission (not a Triton statistic; kept for the status page).</summary>
    public void RequestRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>Requests refused at admission so far.</summary>
    public long Rejected => Volatile.Read(ref _rejected);

    /// <summary>One upstream execution of <paramref name="rows"/> rows and its times.</summary>
    public void Executed(long rows, in RequestTimes times)
    {
        Interlocked.Increment(ref _executionCount);
        if (rows < _batches.Length)
        {
            ref var b = ref _batches[rows];
            Interlocked.Increment(ref b.Count);
            Interlocked.Add(ref b.InputNs, times.InputNs);
            Interlocked.Add(ref b.InferNs, times.InferNs);
            Interlocked.Add(ref b.OutputNs, times.OutputNs);
        }
    }

    /// <summary>The <paramref name="index"/>-th response of a streamed request, <paramref name="sinceRequestNs"/>
    /// after the request (or its previous response) was sent upstream.</summary>
    public void Response(int index, long sinceRequestNs, bool empty, bool failed)
    {
        if (index < 0 || index >= MaxResponseIndexes)
        {
            return;
        }

        ref var r = ref _responses[index];
        if (failed)
        {
            Interlocked.Increment(ref r.FailCount);
            Interlocked.Add(ref r.FailNs, sinceRequestNs);
        }
        else if (empty)
        {
            Interlocked.Increment(ref r.EmptyCount);
            Interlocked.Add(ref r.EmptyNs, sinceRequestNs);
        }
        else
        {
            Interlocked.Increment(ref r.SuccessCount);
            Interlocked.Add(ref r.SuccessNs, sinceRequestNs);
        }
    }

    public ModelStatistics Snapshot(string name, string version)
    {
        var success = Duration(ref _successCount, ref _successNs);
        var s = new ModelStatistics
        {
            Name = name,
            Version = version,
            LastInference = (ulong)Volatile.Read(ref _lastInferenceMs),
            InferenceCount = (ulong)Volatile.Read(ref _inferenceCount),
            ExecutionCount = (ulong)Volatile.Read(ref _executionCount),
            InferenceStats = new InferStatistics
            {
                Success = success,
                Fail = Duration(ref _failCount, ref _failNs),
                Queue = new StatisticDuration { Count = success.Count, Ns = (ulong)Volatile.Read(ref _queueNs) },
                ComputeInput = new StatisticDuration { Count = success.Count, Ns = (ulong)Volatile.Read(ref _inputNs) },
                ComputeInfer = new StatisticDuration { Count = success.Count, Ns = (ulong)Volatile.Read(ref _inferNs) },
                ComputeOutput = new StatisticDuration { Count = success.Count, Ns = (ulong)Volatile.Read(ref _outputNs) },
                CacheHit = new StatisticDuration(),
                CacheMiss = new StatisticDuration(),
            },
        };
        for (int size = 1; size < _batches.Length; size++)
        {
            ref var b = ref _batches[size];
            ulong count = (ulong)Volatile.Read(ref b.Count);
            if (count > 0)
            {
                s.BatchStats.Add(new InferBatchStatistics
                {
                    BatchSize = (ulong)size,
                    ComputeInput = new StatisticDuration { Count = count, Ns = (ulong)Volatile.Read(ref b.InputNs) },
                    ComputeInfer = new StatisticDuration { Count = count, Ns = (ulong)Volatile.Read(ref b.InferNs) },
                    ComputeOutput = new StatisticDuration { Count = count, Ns = (ulong)Volatile.Read(ref b.OutputNs) },
                });
            }
        }

        for (int i = 0; i < MaxResponseIndexes; i++)
        {
            ref var r = ref _responses[i];
            long any = Volatile.Read(ref r.SuccessCount) + Volatile.Read(ref r.FailCount) + Volatile.Read(ref r.EmptyCount);
            if (any > 0)
            {
                var success1 = Duration(ref r.SuccessCount, ref r.SuccessNs);
                s.ResponseStats[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new InferResponseStatistics
                {
                    Success = success1,
                    Fail = Duration(ref r.FailCount, ref r.FailNs),
                    EmptyResponse = Duration(ref r.EmptyCount, ref r.EmptyNs),
                    ComputeInfer = success1.Clone(),
                    ComputeOutput = new StatisticDuration { Count = success1.Count },
                    Cancel = new StatisticDuration(),
                };
            }
        }

        return s;
    }

    private static StatisticDuration Duration(ref long count, ref long ns) =>
        new() { Count = (ulong)Volatile.Read(ref count), Ns = (ulong)Volatile.Read(ref ns) };

    private struct BatchCounter
    {
        public long Count;
        public long InputNs;
        public long InferNs;
        public long OutputNs;
    }

    private struct ResponseCounter
    {
        public long SuccessCount, SuccessNs, FailCount, FailNs, EmptyCount, EmptyNs;
    }
}

/// <summary>How a request's time split between leaving the queue and its answer (nanoseconds).</summary>
public readonly record struct RequestTimes(long QueueNs, long InputNs, long InferNs, long OutputNs);
