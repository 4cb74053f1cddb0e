using System.Globalization;
using System.Text;

namespace DataPlane.Topology.Model;

/// <summary>An immutable set of CPU numbers with the kernel's two spellings: the cpulist
/// (<c>0-55,112-167</c>, as in <c>local_cpulist</c> and <c>smp_affinity_list</c>) and the hex mask
/// (<c>ff,ffffffff</c>, 32-bit groups separated by commas, as in <c>smp_affinity</c>).</summary>
public sealed class CpuSet : IEquatable<CpuSet>
{
    private readonly int[] _cpus;

    public static CpuSet Empty { get; } = new([]);

    private CpuSet(int[] sortedDistinct) => _cpus = sortedDistinct;

    public static CpuSet Of(IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        var array = cpus.Distinct().Order().ToArray();
        if (array.Length > 0 && array[0] < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cpus), "CPU numbers are not negative");
        }

        return array.Length == 0 ? Empty : new CpuSet(array);
    }

    public IReadOnlyList<int> Cpus => _cpus;

    public int Count => _cpus.Length;

    public bool IsEmpty => _cpus.Length == 0;

    public bool Contains(int cpu) => Array.BinarySearch(_cpus, cpu) >= 0;

    public CpuSet Union(CpuSet other) => Of(_cpus.Concat(other._cpus));

    public CpuSet Intersect(CpuSet other) => Of(_cpus.Where(other.Contains));

    public CpuSet Except(CpuSet other) => Of(_cpus.Where(c => !other.Contains(c)));

    /// <summary>Parses a cpulist: comma-separated numbers and ranges (<c>a-b</c>, also <c>a-b:stride/group</c> is refused).
    /// An empty or blank string is the empty set.</summary>
    public static CpuSet ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cpus = new List<int>();
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                cpus.Add(ParseCpu(part, text));
                continue;
            }

            int from = ParseCpu(part[..dash], text), to = ParseCpu(part[(dash + 1)..], text);
            if (to < from)
            {
                throw new FormatException($"cpulist '{text}': range {part} runs backwards");
            }

            for (int c = from; c <= to; c++)
            {
                cpus.Add(c);
            }
        }

        return Of(cpus);
    }

    /// <summary>Like <see cref="ParseList"/>, but null for null or malformed text (a sysfs file that was missing or odd).</summary>
    public static CpuSet? TryParseList(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return ParseList(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Parses a hex mask as the kernel prints it: 32-bit groups, most significant first, separated by commas.</summary>
    public static CpuSet ParseMask(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var groups = text.Trim().Split(',');
        var cpus = new List<int>();
        for (int g = 0; g < groups.Length; g++)
        {
            if (!uint.TryParse(groups[g], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint bits))
            {
                throw new FormatException($"CPU mask '{text}': '{groups[g]}' is not a 32-bit hex group");
            }

            int baseCpu = (groups.Length - 1 - g) * 32;
            for (int b = 0; b < 32; b++)
            {
                if ((bits & (1u << b)) != 0)
                {
                    cpus.Add(baseCpu + b);
                }
            }
        }

        return Of(cpus);
    }

    /// <summary>The cpulist form with ranges, e.g. <c>0-3,8,10-11</c>; empty for the empty set.</summary>
    public string ToList()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < _cpus.Length; i++)
        {
            int start = _cpus[i];
            while (i + 1 < _cpus.Length && _cpus[i + 1] == _cpus[i] + 1)
            {
                i++;
            }

            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(start.ToString(CultureInfo.InvariantCulture));
            if (_cpus[i] != start)
            {
                sb.Append('-').Append(_cpus[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>The hex mask form the kernel accepts in <c>smp_affinity</c>: 32-bit groups, most significant first.</summary>
    public string ToMask()
    {
        int groups = _cpus.Length == 0 ? 1 : (_cpus[^1] / 32) + 1;
        var words = new uint[groups];
        foreach (int c in _cpus)
        {
            words[c / 32] |= 1u << (c % 32);
        }

        return string.Join(',', words.Reverse().Select((w, i) => i == 0 ? w.ToString("x", CultureInfo.InvariantCulture) : w.ToString("x8", CultureInfo.InvariantCulture)));
    }

    public override string ToString() => ToList();

    public bool Equals(CpuSet? other) => other is not null && _cpus.AsSpan().SequenceEqual(other._cpus);

    public override bool Equals(object? obj) => Equals(obj as CpuSet);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int c in _cpus)
        {
            hash.Add(c);
        }

        return hash.ToHashCode();
    }

    private static int ParseCpu(string s, string whole) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int cpu)
            ? cpu
            : throw new FormatException($"cpulist '{whole}': '{s}' is not a CPU number");
}
