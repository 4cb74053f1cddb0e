namespace DataPlane.Batching.Frontend;

/// <summary>Whether the daemon is accepting work: cleared once shutdown begins so that health
/// checks report NOT_SERVING and load balancers move traffic away while queues drain.</summary>
public sealed class ServingState
{
    private volatile bool _draining;

    public bool Draining => _draining;

    public void BeginDrain() => _draining = true;
}
