namespace DataPlane.Bench.Load;

/// <summary>The load one run of <see cref="LoadEngine"/> offers.</summary>
public sealed record LoadPlan
{
    /// <summary>Open loop (<see cref="LoadMode.Poisson"/>, <see cref="LoadMode.Constant"/>) or closed loop.</summary>
    public required LoadMode Mode { get; init; }

    /// <summary>Open loop: the mean rate in requests per second. Closed loop: the number of workers, a whole number.</summary>
    public required double Offered { get; init; }

    /// <summary>Load sent before the measurement starts and not measured.</summary>
    public required TimeSpan Warmup { get; init; }

    /// <summary>How long requests are sent (open loop: scheduled; closed loop: started) after the warm-up.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Seed of the Poisson schedule: the same seed gives the same send times.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One measured request of a run.</summary>
/// <typeparam name="TResult">The sender's outcome.</typeparam>
/// <param name="Sequence">The request's number (what <see cref="ILoadSender{TResult}.SendAsync"/> was given).</param>
/// <param name="ScheduledNs">When it was due (open loop) or sent (closed loop), on the engine's clock.</param>
/// <param name="EndNs">When the sender returned its outcome, on the engine's clock.</param>
/// <param name="Result">The sender's outcome.</param>
public readonly record struct LoadSample<TResult>(long Sequence, long ScheduledNs, long EndNs, TResult Result)
{
    /// <summary>From the scheduled (or actual) send to the end, so a client that falls behind its schedule
    /// shows the delay instead of hiding it.</summary>
    public long LatencyNs => EndNs - ScheduledNs;
}

/// <summary>What a run measured and how well the client kept to its schedule.</summary>
/// <typeparam name="TResult">The sender's outcome.</typeparam>
/// <param name="Samples">The measured requests, in sequence order.</param>
/// <param name="WindowStartNs">When the measurement started (the end of the warm-up), on the engine's clock.</param>
/// <param name="LateSends">Open loop: measured sends that left more than <see cref="LoadEngine.LateSendThreshold"/>
/// behind their schedule; 0 in closed loop.</param>
/// <param name="MaxSendLagNs">Open loop: the largest delay of a measured send behind its schedule; 0 in closed loop.</param>
public sealed record LoadResult<TResult>(IReadOnlyList<LoadSample<TResult>> Samples, long WindowStartNs, long LateSends, long MaxSendLagNs);
