namespace DataPlane.Batching.Batching;

/// <summary>Monotonic time in nanoseconds from a <see cref="TimeProvider"/>, the unit of every
/// time the batcher computes with.</summary>
public readonly struct Nanoseconds
{
    private readonly TimeProvider _time;
    private readonly double _nsPerTick;

    public Nanoseconds(TimeProvider time)
    {
        _time = time;
        _nsPerTick = 1e9 / time.TimestampFrequency;
    }

    public long Now => (long)(_time.GetTimestamp() * _nsPerTick);

    public static long From(TimeSpan span) => (long)(span.TotalMilliseconds * 1_000_000);

    public static double ToSeconds(long ns) => ns / 1e9;

    /// <summary>Converts a gRPC deadline (UTC, <see cref="DateTime.MaxValue"/> = none) to the monotonic clock.</summary>
    public long FromDeadline(DateTime deadlineUtc, long nowNs)
    {
        if (deadlineUtc == DateTime.MaxValue)
        {
            return long.MaxValue;
        }

        double remainingMs = (deadlineUtc - _time.GetUtcNow().UtcDateTime).TotalMilliseconds;
        return nowNs + (long)(remainingMs * 1_000_000);
    }
}
