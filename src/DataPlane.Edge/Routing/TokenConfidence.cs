namespace DataPlane.Edge.Routing;

/// <summary>Confidence of the local model in its first <see cref="K"/> streamed tokens: a low quantile
/// (default the 10th percentile) of the token probabilities exp(logprob).
/// <para>Why a low quantile: the sequence-level scores — the sum of log-probabilities (the probability of
/// the whole sequence) and its mean (a geometric mean of probabilities) — have a <em>length bias</em>
/// (Gupta et al., "Language Model Cascades: Token-level uncertainty and beyond", ICLR 2024). The sum falls
/// with every token, so a long fluent answer looks less certain than a short guess; the mean lets a run of
/// trivially predictable tokens (punctuation, function words, the echo of the question) hide the one or
/// two tokens where the model actually had to choose, and a wrong fact usually sits in exactly such a
/// token. A low quantile of the per-token probabilities (Chow-Quantile) is not pulled up by easy tokens
/// and does not shrink with length, and did better in that paper.</para>
/// <para>Quantile method: nearest rank over the probabilities seen so far (see <see cref="Calibration"/>);
/// with k = 8 and q = 0.1 that is the smallest probability, with k = 20 the second smallest.
/// Tokens after the first <see cref="K"/> are ignored. Allocation-free after construction; not
/// thread-safe (one instance per stream; <see cref="Reset"/> reuses it).</para></summary>
public sealed class TokenConfidence
{
    /// <summary>Default number of tokens looked at.</summary>
    public const int DefaultK = 8;

    /// <summary>Default quantile: the 10th percentile.</summary>
    public const double DefaultQuantile = 0.1;

    private readonly double[] _probabilities;
    private readonly double[] _sorted;
    private int _count;
    private double _sumLogprob;
    private double _lowQuantile = double.NaN;
    private bool _stale;

    /// <summary>Looks at the first <paramref name="k"/> tokens and reports their
    /// <paramref name="quantile"/>-quantile probability.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> &lt; 1 or <paramref name="quantile"/> not in [0, 1].</exception>
    public TokenConfidence(int k = DefaultK, double quantile = DefaultQuantile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (!(quantile >= 0 && quantile <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The quantile must be in [0, 1].");
        }

        K = k;
        Quantile = quantile;
        _probabilities = new double[k];
        _sorted = new double[k];
    }

    /// <summary>Number of tokens looked at.</summary>
    public int K { get; }

    /// <summary>The quantile reported by <see cref="LowQuantile"/>.</summary>
    public double Quantile { get; }

    /// <summary>Tokens recorded so far (at most <see cref="K"/>).</summary>
    public int Count => _count;

    /// <summary>True once <see cref="K"/> tokens were recorded.</summary>
    public bool IsReady => _count == K;

    /// <summary>The <see cref="Quantile"/>-quantile of the recorded token probabilities (over the tokens
    /// seen so far before <see cref="IsReady"/>); NaN before the first token.</summary>
    public double LowQuantile
    {
        get
        {
            if (_stale)
            {
                var sorted = _sorted.AsSpan(0, _count);
                _probabilities.AsSpan(0, _count).CopyTo(sorted);
                sorted.Sort();
                _lowQuantile = sorted[Calibration.NearestRankIndex(_count, Quantile)];
                _stale = false;
            }

            return _lowQuantile;
        }
    }

    /// <summary>Smallest recorded token probability; NaN before the first token.</summary>
    public double MinProbability
    {
        get
        {
            if (_count == 0)
            {
                return double.NaN;
            }

            double min = double.PositiveInfinity;
            for (int i = 0; i < _count; i++)
            {
                min = Math.Min(min, _probabilities[i]);
            }

            return min;
        }
    }

    /// <summary>Arithmetic mean of the recorded token probabilities (length-biased; for comparison and
    /// diagnostics only); NaN before the first token.</summary>
    public double MeanProbability
    {
        get
        {
            if (_count == 0)
            {
                return double.NaN;
            }

            double sum = 0;
            for (int i = 0; i < _count; i++)
            {
                sum += _probabilities[i];
            }

            return sum / _count;
        }
    }

    /// <summary>Sum of the recorded log-probabilities (the sequence log-probability; length-biased,
    /// diagnostics only).</summary>
    public double SumLogprob => _sumLogprob;

    /// <summary>Records the next token's natural-log probability. Values above 0 (rounding) count as 0
    /// (probability 1); NaN counts as −∞ (probability 0: a token the runtime could not score is treated
    /// as maximally uncertain). Ignored once <see cref="IsReady"/>.</summary>
    public void Add(double logprob)
    {
        if (_count == K)
        {
            return;
        }

        if (double.IsNaN(logprob))
        {
            logprob = double.NegativeInfinity;
        }

        logprob = Math.Min(logprob, 0);
        _probabilities[_count++] = Math.Exp(logprob);
        _sumLogprob += logprob;
        _stale = true;
    }

    /// <summary>Forgets every recorded token, for reuse on another stream.</summary>
    public void Reset()
    {
        _count = 0;
        _sumLogprob = 0;
        _lowQuantile = double.NaN;
        _stale = false;
    }
}
