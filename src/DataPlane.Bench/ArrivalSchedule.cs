namespace DataPlane.Bench;

/// <summary>Send times of an open-loop step, computed before the step starts so that nothing but
/// sleeping and sending happens on the pacing thread.</summary>
public static class ArrivalSchedule
{
    /// <summary>Offsets in nanoseconds from the start of the step, ascending, of every arrival in
    /// [0, <paramref name="seconds"/>). Poisson: exponential gaps with mean 1/<paramref name="rate"/>,
    /// the first arrival one gap after the start; constant: k/<paramref name="rate"/> for k = 0, 1, …
    /// The same seed gives the same schedule.</summary>
    public static long[] Create(LoadMode mode, double rate, double seconds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfNegative(seconds);
        if (!mode.IsOpenLoop())
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "closed-loop steps have no arrival schedule");
        }

        long endNs = (long)(seconds * 1e9);
        var offsets = new List<long>((int)Math.Min(int.MaxValue / 2, (rate * seconds * 1.1) + 16));
        if (mode == LoadMode.Constant)
        {
            for (long k = 0; ; k++)
            {
                long t = (long)(k * 1e9 / rate);
                if (t >= endNs)
                {
                    break;
                }

                offsets.Add(t);
            }
        }
        else
        {
            var random = new Random(seed);
            double t = 0;
            while (true)
            {
                // 1 - U lies in (0, 1], so the logarithm is finite.
                t += -Math.Log(1.0 - random.NextDouble()) / rate;
                long ns = (long)(t * 1e9);
                if (ns >= endNs)
                {
                    break;
                }

                offsets.Add(ns);
            }
        }

        return [.. offsets];
    }
}
