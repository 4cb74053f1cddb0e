using DataPlane.Edge.Contract;

namespace DataPlane.Edge.Routing;

/// <summary>The result of calibrating a threshold on a set of prompts.</summary>
/// <param name="Threshold">Scores strictly above it escalate.</param>
/// <param name="AchievedRate">Share of the set's scores strictly above <paramref name="Threshold"/>.</param>
/// <param name="TargetRate">The escalation rate asked for.</param>
/// <param name="Prompts">Number of prompts scored.</param>
public readonly record struct CalibrationResult(double Threshold, double AchievedRate, double TargetRate, int Prompts);

/// <summary>Calibrates the routing threshold to an escalation budget, as RouteLLM does: log the scores of
/// representative prompts and put the threshold at the quantile that sends the target share of them to
/// the GPU. Convention throughout: a prompt <em>escalates</em> when its score is strictly greater than
/// the threshold.
/// <para>Quantile method (nearest rank): for sorted scores s₁ ≤ … ≤ sₙ and 0 &lt; q ≤ 1, the q-quantile is
/// s_k with k = ⌈q·n⌉ (computed with a 1e-9 tolerance so that 0.7·10 is 7, not 8); the 0-quantile is
/// s₁. With distinct scores, exactly ⌊r·n⌋ of them lie strictly above the (1 − r)-quantile, so the
/// achieved rate never exceeds the target and is below it by less than 1/n; tied scores at the threshold
/// stay local, which can only lower the rate further.</para></summary>
public static class Calibration
{
    private const double RankTolerance = 1e-9;

    /// <summary>The threshold above which a share <paramref name="targetRate"/> of
    /// <paramref name="scores"/> lies: the nearest-rank (1 − targetRate) quantile. A target of 0 gives
    /// +∞ (nothing escalates); a target of 1 gives −∞ (everything escalates).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetRate"/> is not in [0, 1].</exception>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is empty or holds NaN.</exception>
    public static double ThresholdForEscalationRate(IReadOnlyList<double> scores, double targetRate)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (!(targetRate >= 0 && targetRate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(targetRate), targetRate, "The target escalation rate must be in [0, 1].");
        }

        if (scores.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one score.", nameof(scores));
        }

        if (targetRate == 0)
        {
            return double.PositiveInfinity;
        }

        if (targetRate == 1)
        {
            return double.NegativeInfinity;
        }

        var sorted = new double[scores.Count];
        for (int i = 0; i < sorted.Length; i++)
        {
            sorted[i] = scores[i];
            if (double.IsNaN(sorted[i]))
            {
                throw new ArgumentException($"Score {i} is NaN.", nameof(scores));
            }
        }

        Array.Sort(sorted);
        return NearestRank(sorted, 1 - targetRate);
    }

    /// <summary>The nearest-rank <paramref name="q"/>-quantile of ascending <paramref name="sorted"/>
    /// values (see the class remarks); <paramref name="q"/> in [0, 1], the span not empty.</summary>
    public static double NearestRank(ReadOnlySpan<double> sorted, double q)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("No values.", nameof(sorted));
        }

        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "The quantile must be in [0, 1].");
        }

        return sorted[NearestRankIndex(sorted.Length, q)];
    }

    /// <summary>Zero-based index of the nearest-rank <paramref name="q"/>-quantile among <paramref name="n"/> sorted values.</summary>
    internal static int NearestRankIndex(int n, double q)
    {
        int k = (int)Math.Ceiling((q * n) - RankTolerance);
        return Math.Clamp(k, 1, n) - 1;
    }

    /// <summary>Share of <paramref name="scores"/> strictly above <paramref name="threshold"/>.</summary>
    public static double EscalationRate(IReadOnlyList<double> scores, double threshold)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count == 0)
        {
            return 0;
        }

        int above = 0;
        foreach (double s in scores)
        {
            above += s > threshold ? 1 : 0;
        }

        return above / (double)scores.Count;
    }

    /// <summary>Scores every prompt of a JSONL prompt file (labels, if present, are ignored) with
    /// <paramref name="classifier"/> and calibrates the threshold to <paramref name="targetRate"/>.</summary>
    /// <exception cref="InvalidDataException">A line is malformed (the message names the line).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetRate"/> is not in [0, 1].</exception>
    public static CalibrationResult CalibrateFromFile(string jsonlPath, PromptClassifier classifier, double targetRate)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var prompts = PromptFile.Read(jsonlPath, requireLabels: false);
        if (prompts.Count == 0)
        {
            throw new InvalidDataException($"{jsonlPath}: no prompts to calibrate on.");
        }

        var scores = new double[prompts.Count];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = classifier.Score(prompts[i].Prompt);
        }

        double threshold = ThresholdForEscalationRate(scores, targetRate);
        return new CalibrationResult(threshold, EscalationRate(scores, threshold), targetRate, scores.Length);
    }
}
