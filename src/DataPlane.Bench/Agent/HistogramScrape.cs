using System.Globalization;

namespace DataPlane.Bench.Agent;

/// <summary>One Prometheus histogram as scraped: sum, count and cumulative buckets (ascending upper
/// bounds, the last one +Inf), added up over every label set of the metric except <c>le</c>.</summary>
public sealed record HistogramSnapshot(double Sum, double Count, IReadOnlyList<(double UpperBound, double Cumulative)> Buckets)
{
    /// <summary>The histogram of what happened between <paramref name="before"/> and this snapshot.</summary>
    public HistogramSnapshot Minus(HistogramSnapshot before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var earlier = before.Buckets.ToDictionary(b => b.UpperBound, b => b.Cumulative);
        var buckets = Buckets.Select(b => (b.UpperBound, b.Cumulative - earlier.GetValueOrDefault(b.UpperBound))).ToArray();
        return new HistogramSnapshot(Sum - before.Sum, Count - before.Count, buckets);
    }

    /// <summary>Mean observation, or null without observations.</summary>
    public double? Mean => Count > 0 ? Sum / Count : null;

    /// <summary>Estimated <paramref name="q"/>-quantile (0..1) from the buckets, as Prometheus'
    /// <c>histogram_quantile</c> does: the bucket holding rank q·count is found and the value is
    /// interpolated linearly inside it (from 0 for the first bucket); a rank in the +Inf bucket gives
    /// the largest finite bound. Null without observations.</summary>
    public double? Quantile(double q)
    {
        if (!(q is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "a quantile lies in [0, 1]");
        }

        double total = Buckets.Count > 0 ? Buckets[^1].Cumulative : 0;
        if (total <= 0)
        {
            return null;
        }

        double rank = q * total;
        double lower = 0, below = 0;
        for (int i = 0; i < Buckets.Count; i++)
        {
            var (upper, cumulative) = Buckets[i];
            if (cumulative >= rank && cumulative > 0)
            {
                if (double.IsPositiveInfinity(upper))
                {
                    return i > 0 ? Buckets[i - 1].UpperBound : null;
                }

                double inBucket = cumulative - below;
                return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below) / inBucket);
            }

            lower = upper;
            below = cumulative;
        }

        return null;
    }
}

/// <summary>Reads a histogram out of Prometheus' text exposition format (also OpenMetrics text):
/// lines <c>NAME_bucket{...,le="X"} V</c>, <c>NAME_sum{...} V</c>, <c>NAME_count{...} V</c>.</summary>
public static class HistogramScrape
{
    /// <summary>The histogram <paramref name="name"/> in <paramref name="text"/>, or null when it has no bucket lines.</summary>
    /// <exception cref="FormatException">A line of the histogram has no readable value.</exception>
    public static HistogramSnapshot? Parse(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        double sum = 0, count = 0;
        var buckets = new SortedDictionary<double, double>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.AsSpan().Trim();
            if (line.IsEmpty || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[name.Length..];
            int nameEnd = rest.IndexOfAny('{', ' ');
            if (nameEnd < 0)
            {
                continue;
            }

            var suffix = rest[..nameEnd];
            var afterName = rest[nameEnd..];
            ReadOnlySpan<char> labels = [];
            if (afterName[0] == '{')
            {
                int close = afterName.IndexOf('}');
                if (close < 0)
                {
                    throw new FormatException($"unterminated labels: {line}");
                }

                labels = afterName[1..close];
                afterName = afterName[(close + 1)..];
            }

            var valueText = afterName.Trim();
            int space = valueText.IndexOf(' ');
            if (space >= 0)
            {
                valueText = valueText[..space]; // a timestamp follows
            }

            if (suffix is not ("_bucket" or "_sum" or "_count"))
            {
                continue;
            }

            double value = ParseNumber(valueText, line);
            switch (suffix)
            {
                case "_sum":
                    sum += value;
                    break;
                case "_count":
                    count += value;
                    break;
                default:
                    double le = ParseNumber(Label(labels, "le") ?? throw new FormatException($"a bucket without le: {line}"), line);
                    buckets[le] = buckets.GetValueOrDefault(le) + value;
                    break;
            }
        }

        return buckets.Count == 0 ? null : new HistogramSnapshot(sum, count, buckets.Select(b => (b.Key, b.Value)).ToArray());
    }

    private static string? Label(ReadOnlySpan<char> labels, string name)
    {
        // Labels are name="value" pairs separated by commas; values may hold escaped quotes.
        int i = 0;
        while (i < labels.Length)
        {
            while (i < labels.Length && (labels[i] == ',' || labels[i] == ' '))
            {
                i++;
            }

            int eq = labels[i..].IndexOf('=');
            if (eq < 0)
            {
                return null;
            }

            var key = labels.Slice(i, eq).Trim();
            i += eq + 1;
            if (i >= labels.Length || labels[i] != '"')
            {
                return null;
            }

            i++;
            var value = new System.Text.StringBuilder();
            while (i < labels.Length && labels[i] != '"')
            {
                if (labels[i] == '\\' && i + 1 < labels.Length)
                {
                    i++;
                }

                value.Append(labels[i]);
                i++;
            }

            i++;
            if (key.SequenceEqual(name))
            {
                return value.ToString();
            }
        }

        return null;
    }

    private static double ParseNumber(ReadOnlySpan<char> text, ReadOnlySpan<char> line)
    {
        if (text is "+Inf" or "Inf")
        {
            return double.PositiveInfinity;
        }

        if (text is "-Inf")
        {
            return double.NegativeInfinity;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw new FormatException($"not a number: '{text}' in {line}");
    }
}
