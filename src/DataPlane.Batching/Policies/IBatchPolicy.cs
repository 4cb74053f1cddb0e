namespace DataPlane.Batching.Policies;

/// <summary>Decides when the next batch goes upstream. Called under the batcher's lock at every
/// decision point (an arrival, a free slot, a timer), so it must be O(1) and must not block.</summary>
public interface IBatchPolicy
{
    /// <summary>When to send the batch: a time at or before <see cref="BatchContext.Now"/> means
    /// now; a later time arms the timer; <see cref="long.MaxValue"/> waits for the next event.
    /// Once a window is open (<see cref="BatchContext.WindowEnd"/>), a policy may shorten it but
    /// never extend it.</summary>
    long PlanDispatch(in BatchContext context);
}
