using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Hosting.Configuration;

/// <summary>Reads typed values from <see cref="IConfiguration"/> by hand (no reflection, so it is
/// NativeAOT-safe) and collects every problem, each naming the full key and the reason. Keys it
/// was not asked about are reported as unknown, so a misspelt setting stops the process instead
/// of being silently ignored. Call <see cref="ThrowIfInvalid"/> once everything is read.</summary>
public sealed class ConfigBinder
{
    private readonly IConfiguration _root;
    private readonly List<string> _errors = [];
    private readonly HashSet<string> _known = new(StringComparer.OrdinalIgnoreCase);

    public ConfigBinder(IConfiguration root) => _root = root;

    /// <summary>Problems found so far.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Records a problem with <paramref name="key"/>.</summary>
    public void Error(string key, string reason) => _errors.Add($"{key}: {reason}");

    /// <summary>Marks a key as understood without reading it (e.g. a section read elsewhere).</summary>
    public void Known(string key) => _known.Add(key);

    public IConfigurationSection Section(string key)
    {
        Known(key);
        return _root.GetSection(key);
    }

    public string String(string key, string fallback)
    {
        Known(key);
        return _root[key] is { } v ? v.Trim() : fallback;
    }

    public bool Bool(string key, bool fallback)
    {
        Known(key);
        string? v = _root[key];
        if (v == null)
        {
            return fallback;
        }

        if (bool.TryParse(v.Trim(), out bool b))
        {
            return b;
        }

        Error(key, $"'{v}' is not true or false");
        return fallback;
    }

    public int Int(string key, int fallback, int min, int max)
    {
        Known(key);
        string? v = _root[key];
        if (v == null)
        {
            return fallback;
        }

        if (int.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= min && i <= max)
        {
            return i;
        }

        Error(key, $"'{v}' is not a whole number from {min} to {max}");
        return fallback;
    }

    public long Long(string key, long fallback, long min, long max)
    {
        Known(key);
        string? v = _root[key];
        if (v == null)
        {
            return fallback;
        }

        if (long.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long i) && i >= min && i <= max)
        {
            return i;
        }

        Error(key, $"'{v}' is not a whole number from {min} to {max}");
        return fallback;
    }

    public double Double(string key, double fallback, double min, double max)
    {
        Known(key);
        string? v = _root[key];
        if (v == null)
        {
            return fallback;
        }

        if (double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= min && d <= max && double.IsFinite(d))
        {
            return d;
        }

        Error(key, $"'{v}' is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        return fallback;
    }

    /// <summary>A duration given in milliseconds (fractions allowed) under a key ending in "Ms".</summary>
    public TimeSpan Milliseconds(string key, TimeSpan fallback, double minMs, double maxMs) =>
        TimeSpan.FromMilliseconds(Double(key, fallback.TotalMilliseconds, minMs, maxMs));

    /// <summary>A duration given in seconds under a key ending in "Seconds".</summary>
    public TimeSpan Seconds(string key, TimeSpan fallback, double minSeconds, double maxSeconds) =>
        TimeSpan.FromSeconds(Double(key, fallback.TotalSeconds, minSeconds, maxSeconds));

    public TEnum Enum<TEnum>(string key, TEnum fallback)
        where TEnum : struct, Enum
    {
        Known(key);
        string? v = _root[key];
        if (v == null)
        {
            return fallback;
        }

        if (System.Enum.TryParse(v.Trim(), ignoreCase: true, out TEnum e) && System.Enum.IsDefined(e) && !int.TryParse(v, out _))
        {
            return e;
        }

        Error(key, $"'{v}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
        return fallback;
    }

    /// <summary>A list of whole numbers, given as "1,2,4" or as child keys 0, 1, 2.</summary>
    public IReadOnlyList<int> IntList(string key, IReadOnlyList<int> fallback, int min, int max)
    {
        Known(key);
        var section = _root.GetSection(key);
        IEnumerable<(string Key, string? Value)> items = section.Value is { } csv
            ? csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select((v, i) => ($"{key}[{i}]", (string?)v))
            : section.GetChildren().Select(c => (c.Path, c.Value));
        var list = new List<int>();
        bool any = false;
        foreach (var (k, v) in items)
        {
            any = true;
            Known(k);
            if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= min && i <= max)
            {
                list.Add(i);
            }
            else
            {
                Error(k, $"'{v}' is not a whole number from {min} to {max}");
            }
        }

        return any ? list : fallback;
    }

    /// <summary>A list of strings, given as "a,b,c" or as child keys 0, 1, 2; empty entries are errors.</summary>
    public IReadOnlyList<string> StringList(string key, IReadOnlyList<string> fallback)
    {
        Known(key);
        var section = _root.GetSection(key);
        IEnumerable<(string Key, string? Value)> items = section.Value is { } csv
            ? csv.Split(',', StringSplitOptions.TrimEntries).Select((v, i) => ($"{key}[{i}]", (string?)v))
            : section.GetChildren().Select(c => (c.Path, c.Value));
        var list = new List<string>();
        bool any = false;
        foreach (var (k, v) in items)
        {
            any = true;
            Known(k);
            if (string.IsNullOrWhiteSpace(v))
            {
                Error(k, "is empty");
            }
            else
            {
                list.Add(v.Trim());
            }
        }

        return any ? list : fallback;
    }

    /// <summary>Reports every key under <paramref name="sections"/> that nothing read.</summary>
    public void RejectUnknownKeys(params string[] sections)
    {
        foreach (string s in sections)
        {
            foreach (var child in _root.GetSection(s).GetChildren())
            {
                Walk(child);
            }
        }
    }

    private void Walk(IConfigurationSection section)
    {
        if (_known.Contains(section.Path))
        {
            return;
        }

        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            Error(section.Path, "unknown setting (check its spelling and docs/CONFIGURATION.md)");
            return;
        }

        foreach (var c in children)
        {
            Walk(c);
        }
    }

    /// <summary>Throws <see cref="ConfigurationException"/> listing every problem, if any.</summary>
    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw new ConfigurationException(_errors);
        }
    }
}

/// <summary>Invalid configuration: one line per problem, each naming the key.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IReadOnlyList<string> errors)
        : base("invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e))) =>
        Errors = errors;

    public ConfigurationException()
        : this([])
    {
    }

    public ConfigurationException(string message)
        : base(message) => Errors = [message];

    public ConfigurationException(string message, Exception inner)
        : base(message, inner) => Errors = [message];

    public IReadOnlyList<string> Errors { get; } = [];
}
