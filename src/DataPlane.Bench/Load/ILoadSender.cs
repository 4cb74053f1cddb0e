namespace DataPlane.Bench.Load;

/// <summary>What a load run sends: one request by number, followed to its end. The engine
/// (<see cref="LoadEngine"/>) decides when and how many; the sender knows the protocol (KServe v2 over
/// gRPC or HTTP, the OpenAI chat API) and what a result holds.</summary>
/// <typeparam name="TResult">What one request's outcome is (a status, or a whole measured sample).</typeparam>
public interface ILoadSender<TResult>
{
    /// <summary>Sends request number <paramref name="sequence"/> (0, 1, … in send order), due at
    /// <paramref name="scheduledNs"/> (the engine's clock, nanoseconds: the scheduled time in open loop, the
    /// actual send in closed loop), and returns its outcome once it has ended. A failed request is an outcome,
    /// not an exception: the run fails when this throws anything but an <see cref="OperationCanceledException"/>
    /// for <paramref name="cancellationToken"/>.</summary>
    Task<TResult> SendAsync(long sequence, long scheduledNs, CancellationToken cancellationToken);
}
