namespace DataPlane.Batching.Options;

/// <summary>How a model's queue decides when to send a batch upstream.</summary>
public enum BatchPolicyKind
{
    /// <summary>Window chosen per decision from the arrival rate, the fitted upstream latency and
    /// the earliest deadline; zero when waiting cannot help. The default.</summary>
    Adaptive,

    /// <summary>Triton's dynamic batcher: send when a slot is free and a preferred size is reached,
    /// or when the oldest request is <c>MaxQueueDelay</c> old.</summary>
    Fixed,

    /// <summary>No batching: each request goes upstream on its own as soon as a slot is free.</summary>
    None,
}
