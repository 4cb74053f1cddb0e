namespace DataPlane.Batching.Queueing;

/// <summary>The waiting requests of one model: one FIFO per priority level (level 0 first), as
/// intrusive doubly linked lists so that cancellation and batch formation remove from the middle
/// in O(1). Keeps request and row counts and a lazily recomputed earliest deadline.
/// Not thread-safe: used under the batcher's lock.</summary>
public sealed class RequestQueue
{
    private readonly PendingRequest?[] _heads;
    private readonly PendingRequest?[] _tails;
    private readonly long[] _levelRows;
    private long _earliestDeadline = long.MaxValue;
    private bool _earliestDeadlineStale;

    public RequestQueue(int levels)
    {
        _heads = new PendingRequest?[levels];
        _tails = new PendingRequest?[levels];
        _levelRows = new long[levels];
    }

    public int Count { get; private set; }

    public long Rows { get; private set; }

    /// <summary>Input bytes the waiting requests hold.</summary>
    public long Bytes { get; private set; }

    public int Levels => _heads.Length;

    /// <summary>Rows waiting at <paramref name="level"/> and every level served before it: what a new request of that
    /// level waits behind.</summary>
    public long RowsThrough(int level)
    {
        long rows = 0;
        for (int l = 0; l <= level && l < _levelRows.Length; l++)
        {
            rows += _levelRows[l];
        }

        return rows;
    }

    /// <summary>The request that is served next: the oldest of the highest non-empty level.</summary>
    public PendingRequest? Head
    {
        get
        {
            for (int l = 0; l < _heads.Length; l++)
            {
                if (_heads[l] != null)
                {
                    return _heads[l];
                }
            }

            return null;
        }
    }

    /// <summary>Arrival time of the oldest waiting request of any level.</summary>
    public long OldestArrival
    {
        get
        {
            long oldest = long.MaxValue;
            for (int l = 0; l < _heads.Length; l++)
            {
                if (_heads[l] is { } h && h.ArrivalNs < oldest)
                {
                    oldest = h.ArrivalNs;
                }
            }

            return oldest;
        }
    }

    public long EarliestDeadline
    {
        get
        {
            if (_earliestDeadlineStale)
            {
                long min = long.MaxValue;
                for (int l = 0; l < _heads.Length; l++)
                {
                    for (var r = _heads[l]; r != null; r = r.Next)
                    {
                        min = Math.Min(min, r.DeadlineNs);
                    }
                }

                _earliestDeadline = min;
                _earliestDeadlineStale = false;
            }

            return _earliestDeadline;
        }
    }

    public void Enqueue(PendingRequest request)
    {
        int l = request.Level;
        request.Prev = _tails[l];
        request.Next = null;
        if (_tails[l] is { } tail)
        {
            tail.Next = request;
        }
        else
        {
            _heads[l] = request;
        }

        _tails[l] = request;
        request.Queued = true;
        Count++;
        Rows += request.Rows;
        _levelRows[l] += request.Rows;
        Bytes += request.Bytes;
        if (!_earliestDeadlineStale && request.DeadlineNs < _earliestDeadline)
        {
            _earliestDeadline = request.DeadlineNs;
        }
    }

    /// <summary>Puts requests that were taken back at the front of their levels, in their original order (they arrived
    /// before everything still queued): a batch a peer could not run comes home.</summary>
    public void Requeue(IReadOnlyList<PendingRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (int i = requests.Count - 1; i >= 0; i--)
        {
            var request = requests[i];
            int l = request.Level;
            request.Prev = null;
            request.Next = _heads[l];
            if (_heads[l] is { } head)
            {
                head.Prev = request;
            }
            else
            {
                _tails[l] = request;
            }

            _heads[l] = request;
            request.Queued = true;
            Count++;
            Rows += request.Rows;
            _levelRows[l] += request.Rows;
            Bytes += request.Bytes;
            if (!_earliestDeadlineStale && request.DeadlineNs < _earliestDeadline)
            {
                _earliestDeadline = request.DeadlineNs;
            }
        }
    }

    /// <summary>Removes a waiting request; false when it is not queued (already taken).</summary>
    public bool Remove(PendingRequest request)
    {
        if (!request.Queued)
        {
            return false;
        }

        int l = request.Level;
        if (request.Prev is { } prev)
        {
            prev.Next = request.Next;
        }
        else
        {
            _heads[l] = request.Next;
        }

        if (request.Next is { } next)
        {
            next.Prev = request.Prev;
        }
        else
        {
            _tails[l] = request.Prev;
        }

        request.Prev = null;
        request.Next = null;
        request.Queued = false;
        Count--;
        Rows -= request.Rows;
        _levelRows[l] -= request.Rows;
        Bytes -= request.Bytes;
        if (Count == 0)
        {
            _earliestDeadline = long.MaxValue;
            _earliestDeadlineStale = false;
        }
        else if (request.DeadlineNs != long.MaxValue && request.DeadlineNs <= _earliestDeadline)
        {
            _earliestDeadlineStale = true;
        }

        return true;
    }

    /// <summary>Takes the head request and the following requests with the same signature
    /// (<see cref="BatchSignature"/>; <paramref name="batched"/> tells whether dimension 0 is the batch), in
    /// priority then arrival order, up to <paramref name="maxRows"/> rows and
    /// <paramref name="maxRequests"/> requests. Requests that do not match stay queued in order.
    /// At most <paramref name="scanLimit"/> queued requests are examined. With <paramref name="localOnly"/>, requests
    /// that came from a peer host stay queued (and a peer's request at the head means nothing is taken).</summary>
    public int TakeBatch(long maxRows, int maxRequests, bool batched, List<PendingRequest> into, int scanLimit = 4096, bool localOnly = false)
    {
        var head = Head;
        if (head == null || (localOnly && !head.Spillable))
        {
            return 0;
        }

        long signature = head.Signature;
        long rows = 0;
        int taken = 0;
        int scanned = 0;
        for (int l = head.Level; l < _heads.Length && rows < maxRows && taken < maxRequests; l++)
        {
            var r = _heads[l];
            while (r != null && rows < maxRows && taken < maxRequests && scanned++ < scanLimit)
            {
                var next = r.Next;
                if (r.Signature == signature && rows + r.Rows <= maxRows && !(localOnly && !r.Spillable) &&
                    (ReferenceEquals(r, head) || BatchSignature.Compatible(head.Message, r.Message, batched)))
                {
                    Remove(r);
                    into.Add(r);
                    rows += r.Rows;
                    taken++;
                }

                r = next;
            }
        }

        return taken;
    }

    /// <summary>Removes every request whose deadline is at or before <paramref name="nowNs"/>.</summary>
    public void RemoveExpired(long nowNs, List<PendingRequest> into)
    {
        if (EarliestDeadline > nowNs)
        {
            return;
        }

        for (int l = 0; l < _heads.Length; l++)
        {
            var r = _heads[l];
            while (r != null)
            {
                var next = r.Next;
                if (r.DeadlineNs <= nowNs)
                {
                    Remove(r);
                    into.Add(r);
                }

                r = next;
            }
        }
    }

    /// <summary>Removes every waiting request.</summary>
    public void RemoveAll(List<PendingRequest> into)
    {
        for (int l = 0; l < _heads.Length; l++)
        {
            while (_heads[l] is { } r)
            {
                Remove(r);
                into.Add(r);
            }
        }
    }
}
