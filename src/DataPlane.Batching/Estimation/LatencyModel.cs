namespace DataPlane.Batching.Estimation;

/// <summary>Upstream latency as a function of batch size, latency ≈ a + b·n, fitted online by
/// exponentially weighted least squares over completed batches (forgetting factor 0.98, an
/// effective memory of about fifty batches). While the batch sizes seen so far do not spread
/// enough to fit a slope, the last slope (or the configured prior) is kept and only the intercept
/// follows the data. Not thread-safe: used under the batcher's lock.</summary>
public sealed class LatencyModel
{
    private const double Forget = 0.98;
    private double _w, _sx, _sy, _sxx, _sxy;
    private double _a, _b;

    public LatencyModel(double interceptNs, double slopeNs)
    {
        _a = Math.Max(0, interceptNs);
        _b = Math.Max(0, slopeNs);
    }

    /// <summary>Fixed cost of a batch, in nanoseconds.</summary>
    public double InterceptNs => _a;

    /// <summary>Added cost per row, in nanoseconds.</summary>
    public double SlopeNs => _b;

    /// <summary>Number of batches observed (weighted).</summary>
    public double Weight => _w;

    /// <summary>Predicted latency of a batch of <paramref name="rows"/> rows, in nanoseconds.</summary>
    public double PredictNs(double rows) => _a + (_b * rows);

    /// <summary>Adds a completed batch of <paramref name="rows"/> rows that took <paramref name="latencyNs"/>.</summary>
    public void Observe(double rows, double latencyNs)
    {
        _w = (_w * Forget) + 1;
        _sx = (_sx * Forget) + rows;
        _sy = (_sy * Forget) + latencyNs;
        _sxx = (_sxx * Forget) + (rows * rows);
        _sxy = (_sxy * Forget) + (rows * latencyNs);

        double det = (_w * _sxx) - (_sx * _sx);
        // Require a spread of batch sizes (variance of n above 0.25) before trusting a slope.
        if (_w >= 3 && det > 0.25 * _w * _w)
        {
            double b = ((_w * _sxy) - (_sx * _sy)) / det;
            if (b >= 0)
            {
                _b = b;
            }
        }

        _a = Math.Max(0, (_sy - (_b * _sx)) / _w);
    }
}
