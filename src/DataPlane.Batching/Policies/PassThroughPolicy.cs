namespace DataPlane.Batching.Policies;

/// <summary>Policy <c>none</c>: every request goes upstream alone as soon as a slot is free.</summary>
public sealed class PassThroughPolicy : IBatchPolicy
{
    public static PassThroughPolicy Instance { get; } = new();

    public long PlanDispatch(in BatchContext context) => context.Now;
}
