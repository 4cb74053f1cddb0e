namespace DataPlane.Bench;

/// <summary>Exact percentiles from every sample (no histogram buckets).</summary>
public static class Percentiles
{
    /// <summary>The nearest-rank percentile of <paramref name="sorted"/> (ascending): the smallest
    /// sample such that at least <paramref name="percentile"/>% of the samples are no larger, i.e.
    /// the sample of rank ⌈p/100 · n⌉ (rank 1 for p = 0). p100 is the maximum.</summary>
    /// <exception cref="ArgumentException">No samples, or a percentile outside [0, 100].</exception>
    public static long NearestRank(ReadOnlySpan<long> sorted, double percentile)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        if (!(percentile >= 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile lies in [0, 100]");
        }

        // Multiply first: p·n is exact for whole percentiles, so ⌈p·n/100⌉ has no rounding surprise.
        long rank = (long)Math.Ceiling(percentile * sorted.Length / 100.0);
        rank = Math.Clamp(rank, 1, sorted.Length);
        return sorted[(int)rank - 1];
    }

    /// <summary>The nearest-rank percentile in milliseconds of nanosecond samples (sorted ascending),
    /// or null when there are none.</summary>
    public static double? Milliseconds(ReadOnlySpan<long> sortedNs, double percentile) =>
        sortedNs.IsEmpty ? null : NearestRank(sortedNs, percentile) / 1e6;
}
