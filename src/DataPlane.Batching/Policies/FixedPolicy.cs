namespace DataPlane.Batching.Policies;

/// <summary>Policy <c>fixed</c>, the way Triton's dynamic batcher works: when a slot is free, send
/// at once if a preferred batch size (by default the maximum) can be formed, otherwise when the
/// oldest request has waited <c>max_queue_delay</c> since its arrival. A delay of zero sends
/// whatever is queued (opportunistic batching).</summary>
public sealed class FixedPolicy : IBatchPolicy
{
    private readonly long _maxQueueDelayNs;
    private readonly int[] _preferred;

    public FixedPolicy(TimeSpan maxQueueDelay, IReadOnlyList<int> preferredBatchSizes)
    {
        _maxQueueDelayNs = (long)(maxQueueDelay.TotalMilliseconds * 1_000_000);
        _preferred = [.. preferredBatchSizes.Order()];
    }

    public long PlanDispatch(in BatchContext context)
    {
        long n = Math.Min(context.QueuedRows, context.MaxRows);
        long largestPreferred = _preferred.Length == 0 ? context.MaxRows : Math.Min(_preferred[^1], context.MaxRows);
        if (n >= largestPreferred || Array.IndexOf(_preferred, (int)n) >= 0)
        {
            return context.Now;
        }

        if (_maxQueueDelayNs == 0)
        {
            return context.Now;
        }

        return context.OldestArrival + _maxQueueDelayNs;
    }
}
