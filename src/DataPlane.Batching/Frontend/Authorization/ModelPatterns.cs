namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>The models a grant covers: exact names, prefixes written <c>name*</c>, or <c>*</c> for every model.
/// Matching is ordinal (model names are case-sensitive, as in Triton).</summary>
public sealed class ModelPatterns
{
    private readonly HashSet<string> _names;
    private readonly string[] _prefixes;

    private ModelPatterns(IReadOnlyList<string> patterns, HashSet<string> names, string[] prefixes, bool all)
    {
        Patterns = patterns;
        _names = names;
        _prefixes = prefixes;
        MatchesAll = all;
    }

    /// <summary>Every model.</summary>
    public static ModelPatterns All { get; } = Create(["*"]);

    /// <summary>No model.</summary>
    public static ModelPatterns None { get; } = Create([]);

    /// <summary>The patterns as configured.</summary>
    public IReadOnlyList<string> Patterns { get; }

    public bool MatchesAll { get; }

    /// <summary>Patterns that are valid (see <see cref="Problem"/>).</summary>
    public static ModelPatterns Create(IReadOnlyList<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        bool all = false;
        foreach (string p in patterns)
        {
            if (p == "*")
            {
                all = true;
            }
            else if (p.EndsWith('*'))
            {
                prefixes.Add(p[..^1]);
            }
            else
            {
                names.Add(p);
            }
        }

        return new ModelPatterns(patterns, names, [.. prefixes], all);
    }

    /// <summary>Why <paramref name="pattern"/> is not a valid pattern, or null.</summary>
    public static string? Problem(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        int star = pattern.IndexOf('*', StringComparison.Ordinal);
        return pattern.Length == 0 ? "is empty"
            : star >= 0 && star != pattern.Length - 1 ? $"'{pattern}' has '*' before its end; a pattern is a name, a prefix ending in '*', or '*'"
            : null;
    }

    public bool Matches(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (MatchesAll || _names.Contains(model))
        {
            return true;
        }

        foreach (string prefix in _prefixes)
        {
            if (model.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString() => Patterns.Count == 0 ? "(none)" : string.Join(",", Patterns);
}
