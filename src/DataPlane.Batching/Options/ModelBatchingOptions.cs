namespace DataPlane.Batching.Options;

/// <summary>Batching settings of one model. Every value has a documented default; a model that
/// is not named in configuration uses <see cref="BatchingOptions.Defaults"/>.</summary>
public sealed record ModelBatchingOptions
{
    /// <summary>Batching policy. Default <see cref="BatchPolicyKind.Adaptive"/>.</summary>
    public BatchPolicyKind Policy { get; init; } = BatchPolicyKind.Adaptive;

    /// <summary>Smallest window the adaptive policy opens; shorter computed windows become zero. Default 1 ms.</summary>
    public TimeSpan MinWindow { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Longest the adaptive policy holds the first request of a batch once a slot is free. Default 5 ms.</summary>
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The fixed policy's <c>max_queue_delay</c>, measured from the oldest request's arrival. Default 5 ms.</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The fixed policy's preferred batch sizes; empty means the model's max_batch_size (as Triton does).</summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    /// <summary>Most requests waiting in the model's queue; one more is refused with Triton's UNAVAILABLE
    /// <c>Exceeds maximum queue size</c>. Default 1024.</summary>
    public int MaxQueueSize { get; init; } = 1024;

    /// <summary>Most input bytes the model's waiting requests may hold; a request that would exceed it is refused with
    /// RESOURCE_EXHAUSTED naming the figures. Default 2 GiB, so one request of Triton's largest message size is always
    /// accepted by an empty queue.</summary>
    public long MaxQueueBytes { get; init; } = 1L << 31;

    /// <summary>Number of priority levels; level 1 is served first. Default 2.</summary>
    public int PriorityLevels { get; init; } = 2;

    /// <summary>Level of requests that send no <c>priority</c> parameter (or 0). Default 2, so 1 marks urgent work.</summary>
    public int DefaultPriorityLevel { get; init; } = 2;

    /// <summary>Longest a request may wait in the model's batch queue when its own deadline allows more (Triton's
    /// <c>default_timeout_microseconds</c> with REJECT): a request predicted to wait longer is refused at admission
    /// (RESOURCE_EXHAUSTED), one that does wait longer is answered UNAVAILABLE <c>Request timeout expired</c>. Keeps a
    /// request without an SLO or deadline from queueing for seconds under overload. Zero: no bound. Default 1 s.</summary>
    public TimeSpan MaxQueueTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Per-model latency objective: a request not sent upstream within this time after it arrived
    /// is answered DEADLINE_EXCEEDED, and the adaptive policy plans batches to meet it. Zero: none. Default zero.</summary>
    public TimeSpan Slo { get; init; } = TimeSpan.Zero;

    /// <summary>Batches executing upstream at once; zero takes the instance count from the upstream model
    /// configuration (Triton's instance_group). Default zero.</summary>
    public int MaxConcurrentBatches { get; init; }

    /// <summary>Batches sent ahead to wait in the upstream's queue while every instance is busy, each sent
    /// <see cref="PipelineLead"/> before an instance is predicted to free, so the instance does not idle for
    /// the network hop between batches. Zero: at most one batch per instance in flight. Default 1.</summary>
    public int PipelineDepth { get; init; } = 1;

    /// <summary>How long before an instance is predicted to free a batch sent ahead leaves: at least the
    /// one-way time to the upstream. Default 1 ms.</summary>
    public TimeSpan PipelineLead { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Spillover: when every upstream slot is busy and at least this many requests wait, a whole batch goes to a
    /// peer host (Transfer:Peers) instead of waiting; zero: never. Default zero.</summary>
    public int SpillQueueThreshold { get; init; }

    /// <summary>Caps the batch size below the upstream max_batch_size; zero: no cap. Default zero.</summary>
    public int MaxBatchSize { get; init; }

    /// <summary>Adaptive policy: upstream latency assumed before any batch has been measured:
    /// intercept (fixed cost per batch). Default 1 ms.</summary>
    public TimeSpan InitialLatencyIntercept { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Adaptive policy: assumed extra upstream latency per request in a batch before any
    /// measurement. Default 50 µs.</summary>
    public TimeSpan InitialLatencyPerItem { get; init; } = TimeSpan.FromMicroseconds(50);
}
