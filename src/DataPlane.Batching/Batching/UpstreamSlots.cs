namespace DataPlane.Batching.Batching;

/// <summary>Batches in flight to the upstream of one model: up to <see cref="Instances"/> executing
/// (Triton's instance count) plus up to <see cref="Depth"/> sent ahead, waiting in the upstream's
/// queue for the next free instance.
/// <para>Why send ahead: an upstream call is a network hop each way. With only instance-count
/// batches in flight, the instance idles for the hop between one batch's end and the next batch's
/// arrival (about a millisecond per batch on a loaded host, near 10% of a 11 ms batch). A batch sent
/// just before an instance frees (<see cref="NextStart"/> minus the pipeline lead) arrives in time
/// and still holds every request that arrived while the instance was busy.</para>
/// <para>The upstream is taken to serve waiting batches first in, first out, so when a batch
/// completes, the oldest waiting batch is the one that started then. That gives each batch's
/// service time (completion minus start), which is what the latency model learns from; queueing in
/// the upstream does not inflate it. Not thread-safe: used under the batcher's lock.</para></summary>
public sealed class UpstreamSlots
{
    private readonly Entry[] _entries;
    private long _sequence;

    public UpstreamSlots(int instances, int depth)
    {
        Instances = Math.Max(1, instances);
        Depth = Math.Max(0, depth);
        _entries = new Entry[Instances + Depth];
    }

    public int Instances { get; }

    public int Depth { get; }

    /// <summary>Batches that may be in flight at once.</summary>
    public int Capacity => _entries.Length;

    public int InFlight { get; private set; }

    /// <summary>Batches believed to be executing on an instance.</summary>
    public int Executing { get; private set; }

    public bool CanSend => InFlight < Capacity;

    public bool HasFreeInstance => Executing < Instances;

    /// <summary>Predicted end of the executing batch that finishes first (<see cref="long.MaxValue"/> if none).</summary>
    public long EarliestExecutingEnd
    {
        get
        {
            long min = long.MaxValue;
            foreach (ref readonly var e in _entries.AsSpan())
            {
                if (e.Used && e.StartNs != Waiting)
                {
                    min = Math.Min(min, e.PredictedEnd);
                }
            }

            return min;
        }
    }

    private const long Waiting = long.MinValue;

    /// <summary>When a batch sent at <paramref name="now"/> would start executing: at once when an
    /// instance is free, otherwise when an instance frees after the batches already waiting.
    /// <paramref name="predict"/> gives the latency of a batch of the given rows.</summary>
    public long NextStart(long now, Func<long, double> predict)
    {
        if (HasFreeInstance)
        {
            return now;
        }

        Span<long> free = stackalloc long[Instances];
        int n = 0;
        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.Used && e.StartNs != Waiting && n < free.Length)
            {
                free[n++] = Math.Max(now, e.PredictedEnd);
            }
        }

        // Waiting batches take the instances as they free, oldest first.
        for (long seq = FirstWaitingSequence(long.MinValue); seq != long.MaxValue; seq = FirstWaitingSequence(seq))
        {
            int i = MinIndex(free[..n]);
            free[i] += (long)predict(RowsOf(seq));
        }

        return n == 0 ? now : free[MinIndex(free[..n])];
    }

    /// <summary>Records a batch sent at <paramref name="now"/>; returns its slot.</summary>
    public int Send(long now, long rows, Func<long, double> predict)
    {
        long start = HasFreeInstance ? now : Waiting;
        long predictedEnd = (start == Waiting ? NextStart(now, predict) : now) + (long)predict(rows);
        int slot = Array.FindIndex(_entries, e => !e.Used);
        _entries[slot] = new Entry { Used = true, Sequence = _sequence++, SentNs = now, StartNs = start, PredictedEnd = predictedEnd, Rows = rows };
        InFlight++;
        if (start != Waiting)
        {
            Executing++;
        }

        return slot;
    }

    /// <summary>Records the completion of the batch in <paramref name="slot"/> at <paramref name="now"/>
    /// and starts the oldest waiting batch; returns the completed batch's service time.</summary>
    public long Complete(int slot, long now, Func<long, double> predict)
    {
        ref var done = ref _entries[slot];
        bool wasExecuting = done.StartNs != Waiting;
        // A batch that never got an instance (the upstream answered it from its queue, e.g. an error) took no service time.
        long service = wasExecuting ? now - done.StartNs : 0;
        done = default;
        InFlight--;
        if (wasExecuting)
        {
            Executing--;
            long next = FirstWaitingSequence(long.MinValue);
            if (next != long.MaxValue)
            {
                ref var waiting = ref _entries[IndexOf(next)];
                waiting.StartNs = now;
                waiting.PredictedEnd = now + (long)predict(waiting.Rows);
                Executing++;
            }
        }

        return service;
    }

    private long FirstWaitingSequence(long after)
    {
        long min = long.MaxValue;
        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.Used && e.StartNs == Waiting && e.Sequence > after && e.Sequence < min)
            {
                min = e.Sequence;
            }
        }

        return min;
    }

    private int IndexOf(long sequence) => Array.FindIndex(_entries, e => e.Used && e.Sequence == sequence);

    private long RowsOf(long sequence) => _entries[IndexOf(sequence)].Rows;

    private static int MinIndex(ReadOnlySpan<long> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] < values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private struct Entry
    {
        public bool Used;
        public long Sequence;
        public long SentNs;
        public long StartNs;
        public long PredictedEnd;
        public long Rows;
    }
}
