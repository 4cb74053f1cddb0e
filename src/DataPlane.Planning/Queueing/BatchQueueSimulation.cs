namespace DataPlane.Planning.Queueing;

/// <summary>What one run of <see cref="BatchQueueSimulation"/> predicts.</summary>
/// <param name="Stable">False when the offered rows exceed what the instances can serve with full batches: the queue
/// grows without bound and the latency figures describe only the simulated stretch.</param>
/// <param name="P50Seconds">Median time from a request's arrival to its batch's completion.</param>
/// <param name="P99Seconds">99th percentile of the same.</param>
/// <param name="MeanBatchRows">Mean rows per batch.</param>
/// <param name="P99BatchRows">99th percentile of rows per batch (over batches).</param>
/// <param name="Utilization">Busy time of the instances over their time, 0 to 1.</param>
public readonly record struct QueuePrediction(bool Stable, double P50Seconds, double P99Seconds, double MeanBatchRows, double P99BatchRows,
    double Utilization);

/// <summary>A discrete-event model of one model's batcher in front of its instances, the way the daemon serves a
/// batching model under load: requests arrive as a Poisson process and wait in one FIFO; whenever an instance is
/// free and requests wait, the instance takes the oldest waiting requests, up to the largest batch, and is busy for
/// a + b·rows (the daemon's fitted latency model); a request's latency runs from its arrival to its batch's end.
/// This is the adaptive policy at its two ends (light load: every request goes at once; heavy load: batches fill
/// while the instances are busy and leave the moment one frees). The policy's short windows in between (at most
/// <c>MaxWindow</c>, 5 ms by default) are not simulated: the planner adds the window to every latency instead.
/// Deterministic: a fixed seed gives the same arrivals, and the same arrivals serve every instance count compared,
/// so more instances never look worse by chance.</summary>
public static class BatchQueueSimulation
{
    /// <summary>Arrivals simulated when the instance count is small; the first tenth warms the queue up and is not
    /// counted.</summary>
    public const int MinArrivals = 200_000;

    /// <summary>The most arrivals one run simulates (large pools need longer runs to reach a steady state).</summary>
    public const int MaxArrivals = 2_000_000;

    /// <summary>Simulates <paramref name="instances"/> instances serving <paramref name="requestsPerSecond"/> requests
    /// of <paramref name="rowsPerRequest"/> rows each, in batches of at most <paramref name="maxBatchRows"/> rows
    /// costing <paramref name="baseSeconds"/> + <paramref name="perRowSeconds"/>·rows.</summary>
    public static QueuePrediction Run(double requestsPerSecond, int rowsPerRequest, int instances, int maxBatchRows,
        double baseSeconds, double perRowSeconds, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestsPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowsPerRequest);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(instances);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchRows, rowsPerRequest);
        ArgumentOutOfRangeException.ThrowIfNegative(baseSeconds);
        ArgumentOutOfRangeException.ThrowIfNegative(perRowSeconds);

        int perBatch = maxBatchRows / rowsPerRequest;
        double fullBatch = baseSeconds + (perRowSeconds * perBatch * rowsPerRequest);
        bool stable = fullBatch <= 0 || requestsPerSecond * fullBatch < instances * (double)perBatch;
        long wanted = Math.Max(MinArrivals, 200L * instances * perBatch);
        int arrivals = (int)Math.Min(MaxArrivals, wanted);
        int warm = arrivals / 10;

        var times = new double[arrivals];
        var rng = new SplitMix64(seed);
        double t = 0;
        for (int i = 0; i < arrivals; i++)
        {
            t += -Math.Log(1 - rng.NextDouble()) / requestsPerSecond;
            times[i] = t;
        }

        var free = new PriorityQueue<int, double>(instances);
        for (int i = 0; i < instances; i++)
        {
            free.Enqueue(i, 0);
        }

        var latencies = new double[arrivals - warm];
        var batchRows = new List<int>(arrivals / Math.Max(1, Math.Min(perBatch, 64)) + 1);
        double busy = 0, firstCounted = times[warm], lastEnd = 0;
        int head = 0;
        while (head < arrivals)
        {
            free.TryDequeue(out int instance, out double freeAt);
            double start = Math.Max(freeAt, times[head]);
            int end = head + 1;
            while (end < arrivals && end - head < perBatch && times[end] <= start)
            {
                end++;
            }

            int rows = (end - head) * rowsPerRequest;
            double finish = start + baseSeconds + (perRowSeconds * rows);
            for (int i = head; i < end; i++)
            {
                if (i >= warm)
                {
                    latencies[i - warm] = finish - times[i];
                }
            }

            if (head >= warm)
            {
                batchRows.Add(rows);
                busy += finish - start;
            }

            lastEnd = Math.Max(lastEnd, finish);
            free.Enqueue(instance, finish);
            head = end;
        }

        Array.Sort(latencies);
        batchRows.Sort();
        double span = Math.Max(lastEnd - firstCounted, 1e-12);
        double mean = batchRows.Count == 0 ? 0 : batchRows.Average();
        return new QueuePrediction(stable, Quantile(latencies, 0.50), Quantile(latencies, 0.99), mean,
            batchRows.Count == 0 ? 0 : batchRows[NearestRank(batchRows.Count, 0.99)], Math.Min(1, busy / (span * instances)));
    }

    private static double Quantile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[NearestRank(sorted.Length, q)];

    private static int NearestRank(int count, double q) => Math.Clamp((int)Math.Ceiling(q * count) - 1, 0, count - 1);

    /// <summary>SplitMix64: a small generator whose sequence is fixed by its seed on every runtime.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public double NextDouble()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
