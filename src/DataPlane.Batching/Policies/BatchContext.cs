namespace DataPlane.Batching.Policies;

/// <summary>What a policy sees when a batch slot is free and requests wait. All times are
/// nanoseconds on the monotonic clock; <see cref="long.MaxValue"/> means "none".</summary>
public readonly record struct BatchContext
{
    public long Now { get; init; }

    /// <summary>Rows waiting in the queue (the sum of their leading dimensions).</summary>
    public long QueuedRows { get; init; }

    /// <summary>Largest batch, in rows.</summary>
    public long MaxRows { get; init; }

    /// <summary>Arrival time of the oldest waiting request.</summary>
    public long OldestArrival { get; init; }

    /// <summary>When the oldest request could first have been sent: its arrival, or the moment a
    /// slot became free if it arrived while all slots were busy.</summary>
    public long EligibleSince { get; init; }

    /// <summary>Earliest deadline of a waiting request.</summary>
    public long EarliestDeadline { get; init; }

    /// <summary>Free upstream slots (at least one when a policy is asked).</summary>
    public int FreeSlots { get; init; }

    /// <summary>Predicted completion of the in-flight batch that finishes first.</summary>
    public long EarliestInflightEnd { get; init; }

    /// <summary>End of the window already opened for the current batch.</summary>
    public long WindowEnd { get; init; }
}
