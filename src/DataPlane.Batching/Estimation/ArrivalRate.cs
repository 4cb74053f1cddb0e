namespace DataPlane.Batching.Estimation;

/// <summary>Arrival rate of one model's queue in rows per nanosecond: an exponentially weighted
/// mean of the gap between arrivals (per row), which reacts within a few arrivals at high rates and
/// stays steady at low ones. An idle spell longer than the mean gap lowers the estimate at once.
/// Not thread-safe: used under the batcher's lock.</summary>
public sealed class ArrivalRate
{
    private const double Alpha = 1.0 / 16;
    private double _meanGapNs = double.NaN;
    private long _lastNs = long.MinValue;

    /// <summary>Records an arrival of <paramref name="rows"/> rows at <paramref name="nowNs"/>.</summary>
    public void OnArrival(long nowNs, long rows)
    {
        if (_lastNs != long.MinValue)
        {
            double gap = Math.Max(0, nowNs - _lastNs) / (double)Math.Max(1, rows);
            _meanGapNs = double.IsNaN(_meanGapNs) ? gap : _meanGapNs + (Alpha * (gap - _meanGapNs));
        }

        _lastNs = nowNs;
    }

    /// <summary>Estimated rows per nanosecond at <paramref name="nowNs"/>; 0 until two arrivals were seen.</summary>
    public double PerNanosecond(long nowNs)
    {
        if (double.IsNaN(_meanGapNs))
        {
            return 0;
        }

        double gap = Math.Max(_meanGapNs, nowNs - _lastNs);
        return gap <= 0 ? 1e-3 : 1.0 / gap;
    }

    /// <summary>Estimated rows per second, for metrics.</summary>
    public double PerSecond(long nowNs) => PerNanosecond(nowNs) * 1e9;
}
