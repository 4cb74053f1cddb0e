namespace DataPlane.Edge.Serving;

/// <summary>How many generations the local runtime is given at once, and how many requests may wait for one.</summary>
public sealed record LocalCapacityOptions
{
    /// <summary>Most requests <see cref="LocalCapacityOptions.QueueLength"/> may be set to.</summary>
    public const int MaxQueueLength = 100_000;

    /// <summary>Generations at once, set by the operator (<c>Local:Parallelism</c>); it overrides what the runtime
    /// reports. Null: what the runtime reports (llama.cpp and the simulation), else <see cref="DefaultParallelism"/>.</summary>
    public int? Parallelism { get; init; }

    /// <summary>Generations at once assumed while the runtime has not reported its own, or when it never does
    /// (Ollama's <c>OLLAMA_NUM_PARALLEL</c> defaults to 1; hailo-ollama serves one). Default 1.</summary>
    public int DefaultParallelism { get; init; } = 1;

    /// <summary>Requests that may wait for a free generation when the GPU pool cannot take them
    /// (<c>Local:QueueLength</c>); 0: none wait. Default 16.</summary>
    public int QueueLength { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Parallelism is < 1)
        {
            throw new ArgumentException($"Parallelism {Parallelism} is less than 1", nameof(Parallelism));
        }

        if (DefaultParallelism < 1)
        {
            throw new ArgumentException($"DefaultParallelism {DefaultParallelism} is less than 1", nameof(DefaultParallelism));
        }

        if (QueueLength is < 0 or > MaxQueueLength)
        {
            throw new ArgumentException($"QueueLength {QueueLength} is outside 0..{MaxQueueLength}", nameof(QueueLength));
        }
    }
}

/// <summary>Why a request could not have a local generation.</summary>
public enum LocalRefusal
{
    /// <summary>Not refused: a slot was given.</summary>
    None,

    /// <summary>Every generation is busy and <see cref="LocalCapacityOptions.QueueLength"/> requests already wait.</summary>
    QueueFull,

    /// <summary>The wait for a generation would not (or did not) end in time for the request's latency objective.</summary>
    Slo,
}

/// <summary>The outcome of <see cref="LocalCapacity.WaitAsync"/>: a slot, or a refusal with an estimate of when one
/// will be free.</summary>
/// <param name="Slot">The slot, when given; dispose it when the generation ends.</param>
/// <param name="Refusal">Why none was given.</param>
/// <param name="RetryAfter">When refused: the estimated time until a newly arriving request would find a generation
/// free (see <see cref="LocalCapacity.EstimateWait"/>), at least one second.</param>
public readonly record struct LocalAdmission(LocalSlot? Slot, LocalRefusal Refusal, TimeSpan RetryAfter);

/// <summary>The generations the local runtime serves at once (its slots), counted by the agent so that a full Pi is
/// seen before a request is sent to it: a runtime past its slots queues requests internally and every answer slows
/// down. <see cref="TryAcquire"/> takes a free slot; <see cref="WaitAsync"/> waits in a bounded first-come queue for
/// at most a given time, refusing at once when the queue is full or the estimated wait is longer than allowed.
/// A <see cref="LocalSlot"/> is released exactly once, by its first <see cref="LocalSlot.Dispose"/>, and a released
/// slot goes straight to the longest waiting request.
/// <para>Wait estimates: the mean time a generation held its slot (an exponentially weighted mean, weight 0.2, of
/// generations that ran to their end) minus what each running generation has already had gives when each slot
/// frees; the k-th request waiting gets the k-th slot to free, each slot then taking one mean hold per request.
/// Until one generation has completed there is no estimate, and a waiter is bounded by its time budget alone.</para>
/// <para>Capacity is <see cref="LocalCapacityOptions.Parallelism"/> when set, else what the runtime reports
/// (<see cref="Report"/>), else <see cref="LocalCapacityOptions.DefaultParallelism"/>. Thread-safe; one lock held
/// for O(running + waiting) work at most.</para></summary>
public sealed class LocalCapacity
{
    private const double HoldWeight = 0.2;

    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly HashSet<LocalSlot> _running = [];
    private readonly TimeProvider _time;
    private readonly EdgeMetrics? _metrics;
    private int _capacity;
    private double _meanHoldSeconds = double.NaN;

    public LocalCapacity(LocalCapacityOptions options, TimeProvider? time = null, EdgeMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = time ?? TimeProvider.System;
        _metrics = metrics;
        _capacity = options.Parallelism ?? options.DefaultParallelism;
        Source = options.Parallelism != null ? "configured" : "default";
        Publish();
    }

    public LocalCapacityOptions Options { get; }

    /// <summary>Raised after a slot was taken or released, a request joined or left the queue, or the capacity changed
    /// (outside the lock, on the thread that made the change).</summary>
    public event Action? Changed;

    /// <summary>Generations served at once now.</summary>
    public int Capacity
    {
        get
        {
            lock (_lock)
            {
                return _capacity;
            }
        }
    }

    /// <summary>Where <see cref="Capacity"/> comes from: "configured" (<c>Local:Parallelism</c>), "reported" (by the
    /// runtime) or "default".</summary>
    public string Source { get; private set; }

    /// <summary>Slots held now.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>Requests waiting for a slot now.</summary>
    public int Queued
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>True when a new request would not get a slot at once (all held, or others already waiting).</summary>
    public bool IsFull
    {
        get
        {
            lock (_lock)
            {
                return _running.Count >= _capacity || _waiters.Count > 0;
            }
        }
    }

    /// <summary>Slots taken so far (a test's check that every one was released: <see cref="Acquired"/> − <see cref="Released"/>
    /// equals <see cref="InFlight"/>).</summary>
    public long Acquired { get; private set; }

    /// <summary>Slots released so far.</summary>
    public long Released { get; private set; }

    /// <summary>Mean time a generation that ran to its end held its slot; null before the first one.</summary>
    public TimeSpan? MeanHold
    {
        get
        {
            lock (_lock)
            {
                return double.IsNaN(_meanHoldSeconds) ? null : TimeSpan.FromSeconds(_meanHoldSeconds);
            }
        }
    }

    /// <summary>The runtime's own figure (llama.cpp's <c>total_slots</c>); ignored when <c>Local:Parallelism</c> is set,
    /// or when null or not positive. A larger capacity hands slots to waiting requests at once.</summary>
    /// <returns>True when the capacity changed.</returns>
    public bool Report(int? reported)
    {
        if (Options.Parallelism != null || reported is not > 0)
        {
            return false;
        }

        List<(Waiter, LocalSlot)> granted;
        lock (_lock)
        {
            Source = "reported";
            if (_capacity == reported.Value)
            {
                return false;
            }

            _capacity = reported.Value;
            granted = GrantLocked();
            Publish();
        }

        Complete(granted);
        Changed?.Invoke();
        return true;
    }

    /// <summary>Takes a free slot when one is free and nobody waits for one.</summary>
    public bool TryAcquire(out LocalSlot? slot)
    {
        lock (_lock)
        {
            if (_running.Count < _capacity && _waiters.Count == 0)
            {
                slot = TakeLocked();
                Publish();
            }
            else
            {
                slot = null;
            }
        }

        if (slot != null)
        {
            Changed?.Invoke();
        }

        return slot != null;
    }

    /// <summary>A slot now if one is free; else a place in the queue for at most <paramref name="budget"/>. Refused at once
    /// (no waiting) when <see cref="LocalCapacityOptions.QueueLength"/> requests already wait, when the budget is not
    /// positive, or when the estimated wait is longer than the budget; refused with <see cref="LocalRefusal.Slo"/> when the
    /// budget runs out in the queue.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the request is
    /// no longer waiting).</exception>
    public async Task<LocalAdmission> WaitAsync(TimeSpan budget, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TryAcquire(out var free))
        {
            return new LocalAdmission(free, LocalRefusal.None, TimeSpan.Zero);
        }

        Waiter waiter;
        lock (_lock)
        {
            if (_running.Count < _capacity && _waiters.Count == 0)
            {
                // Freed in between.
                var slot = TakeLocked();
                Publish();
                return new LocalAdmission(slot, LocalRefusal.None, TimeSpan.Zero);
            }

            var estimate = EstimateLocked(_waiters.Count);
            if (_waiters.Count >= Options.QueueLength)
            {
                return Refuse(LocalRefusal.QueueFull, estimate, budget);
            }

            if (budget <= TimeSpan.Zero || estimate > budget)
            {
                return Refuse(LocalRefusal.Slo, estimate, budget);
            }

            waiter = new Waiter(_time.GetTimestamp());
            waiter.Node = _waiters.AddLast(waiter);
            Publish();
        }

        Changed?.Invoke();

        using var timeout = new CancellationTokenSource(budget, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using (linked.Token.Register(() => Abandon(waiter)))
        {
            var slot = await waiter.Granted.Task.ConfigureAwait(false);
            if (slot != null)
            {
                _metrics?.LocalQueueWait.Observe(_time.GetElapsedTime(waiter.Since).TotalSeconds);
                return new LocalAdmission(slot, LocalRefusal.None, TimeSpan.Zero);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        TimeSpan? after;
        lock (_lock)
        {
            after = EstimateLocked(_waiters.Count);
        }

        return Refuse(LocalRefusal.Slo, after, budget);
    }

    /// <summary>Estimated time until the request at queue position <paramref name="position"/> (0: the next to be served)
    /// gets a slot, from the running generations' ages and the mean hold; null before any generation completed.</summary>
    public TimeSpan? EstimateWait(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        lock (_lock)
        {
            return EstimateLocked(position);
        }
    }

    private LocalAdmission Refuse(LocalRefusal reason, TimeSpan? estimate, TimeSpan budget)
    {
        _metrics?.LocalRefused.WithLabels(reason == LocalRefusal.QueueFull ? "queue_full" : "slo").Inc();
        // Without an estimate the honest answer is "about the wait this request was allowed": at least a second.
        var after = estimate ?? (budget > TimeSpan.Zero ? budget : TimeSpan.FromSeconds(1));
        return new LocalAdmission(null, reason, after < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : after);
    }

    private TimeSpan? EstimateLocked(int position)
    {
        if (double.IsNaN(_meanHoldSeconds))
        {
            return null;
        }

        long hold = TimeSpan.FromSeconds(_meanHoldSeconds).Ticks;
        // When each slot frees: running generations after what is left of a mean hold, free slots now.
        var frees = new PriorityQueue<long, long>();
        foreach (var running in _running)
        {
            long left = Math.Max(0, hold - _time.GetElapsedTime(running.Since).Ticks);
            frees.Enqueue(left, left);
        }

        for (int i = _running.Count; i < _capacity; i++)
        {
            frees.Enqueue(0, 0);
        }

        // Slots over a reduced capacity free without taking anyone.
        int excess = Math.Max(0, _running.Count - _capacity);
        while (true)
        {
            long at = frees.Dequeue();
            if (excess > 0)
            {
                excess--;
                continue;
            }

            if (position == 0)
            {
                return TimeSpan.FromTicks(at);
            }

            position--;
            frees.Enqueue(at + hold, at + hold);
        }
    }

    private LocalSlot TakeLocked()
    {
        var slot = new LocalSlot(this, _time.GetTimestamp());
        _running.Add(slot);
        Acquired++;
        return slot;
    }

    /// <summary>Hands free slots to the longest waiting requests (under the lock; complete them outside it).</summary>
    private List<(Waiter, LocalSlot)> GrantLocked()
    {
        var granted = new List<(Waiter, LocalSlot)>();
        while (_waiters.First is { } first && _running.Count < _capacity)
        {
            _waiters.RemoveFirst();
            first.Value.Node = null;
            granted.Add((first.Value, TakeLocked()));
        }

        return granted;
    }

    private static void Complete(List<(Waiter Waiter, LocalSlot Slot)> granted)
    {
        foreach (var (waiter, slot) in granted)
        {
            waiter.Granted.TrySetResult(slot);
        }
    }

    private void Abandon(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node == null)
            {
                // Already granted: the waiter takes its slot (and releases it if it no longer wants it).
                return;
            }

            _waiters.Remove(waiter.Node);
            waiter.Node = null;
            Publish();
        }

        waiter.Granted.TrySetResult(null);
        Changed?.Invoke();
    }

    internal void Release(LocalSlot slot)
    {
        List<(Waiter, LocalSlot)> granted;
        lock (_lock)
        {
            if (!_running.Remove(slot))
            {
                return;
            }

            Released++;
            if (slot.Completed)
            {
                double held = _time.GetElapsedTime(slot.Since).TotalSeconds;
                _meanHoldSeconds = double.IsNaN(_meanHoldSeconds) ? held : _meanHoldSeconds + (HoldWeight * (held - _meanHoldSeconds));
            }

            granted = GrantLocked();
            Publish();
        }

        Complete(granted);
        Changed?.Invoke();
    }

    private void Publish()
    {
        if (_metrics is { } m)
        {
            m.LocalCapacity.Set(_capacity);
            m.LocalInFlight.Set(_running.Count);
            m.LocalQueueDepth.Set(_waiters.Count);
        }
    }

    private sealed class Waiter(long since)
    {
        public long Since { get; } = since;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource<LocalSlot?> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One of the local runtime's generations, held from before the request is sent to the runtime until its
/// answer ended (completed, failed or cancelled). <see cref="Dispose"/> releases it; later calls do nothing.</summary>
public sealed class LocalSlot : IDisposable
{
    private readonly LocalCapacity _owner;
    private int _released;

    internal LocalSlot(LocalCapacity owner, long since)
    {
        _owner = owner;
        Since = since;
    }

    /// <summary>When the slot was taken (<see cref="TimeProvider"/> timestamp).</summary>
    public long Since { get; }

    /// <summary>Set when the generation ran to its end, so that its hold time counts in the wait estimates
    /// (a generation cut short says nothing about how long one takes).</summary>
    public bool Completed { get; set; }

    /// <summary>True once released.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(this);
        }
    }
}
