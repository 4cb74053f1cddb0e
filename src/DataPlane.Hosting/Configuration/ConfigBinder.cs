using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace DataPlane.Hosting.Configuration;

/// <summary>Reads typed values from <see cref="IConfiguration"/> by hand (no reflection, so it is
/// NativeAOT-safe) and collects every problem, each naming the full key and the reason. Every key it
/// was not asked about, at any depth, is reported as unknown by <see cref="RejectUnknownKeys"/>, so a
/// misspelt setting stops the process instead of being silently ignored; a key read as a single value
/// that holds an object or a list is reported as the wrong type. Call <see cref="ThrowIfInvalid"/> once
/// everything is read.</summary>
public sealed class ConfigBinder
{
    private readonly IConfiguration _root;
    private readonly List<string> _errors = [];
    private readonly HashSet<string> _subtrees = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _lists = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _sections = new(StringComparer.OrdinalIgnoreCase);

    public ConfigBinder(IConfiguration root) => _root = root;

    /// <summary>Problems found so far.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Records a problem with <paramref name="key"/> (once: a section read for two listeners reports once).</summary>
    public void Error(string key, string reason)
    {
        string error = $"{key}: {reason}";
        if (!_errors.Contains(error))
        {
            _errors.Add(error);
        }
    }

    /// <summary>Marks <paramref name="key"/> and everything under it as understood without reading it here: a section
    /// that another reader checks (e.g. the simulation's own binder, a map whose keys are names).</summary>
    public void Known(string key)
    {
        _subtrees.Add(key);
        NoteSection(key);
    }

    /// <summary>The section under <paramref name="key"/>, marked as read elsewhere (see <see cref="Known"/>): nothing
    /// under it is reported as unknown. Use <see cref="Children"/> instead to enumerate entries whose own keys are read
    /// through this binder.</summary>
    public IConfigurationSection Section(string key)
    {
        Known(key);
        return _root.GetSection(key);
    }

    /// <summary>The entries under <paramref name="key"/> (e.g. one per model), each to be read through this binder with
    /// its full path; keys under them that nothing reads are reported as unknown.</summary>
    public IEnumerable<IConfigurationSection> Children(string key)
    {
        NoteSection(key);
        return _root.GetSection(key).GetChildren();
    }

    public string String(string key, string fallback)
    {
        Value(key);
        return _root[key] is { } v ? v.Trim() : fallback;
    }

    public bool Bool(string key, bool fallback)
    {
        Value(key);
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
        Value(key);
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
        Value(key);
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
        Value(key);
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
        Value(key);
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
        List(key);
        var section = _root.GetSection(key);
        IEnumerable<(string Key, string? Value)> items = section.Value is { } csv
            ? csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select((v, i) => ($"{key}[{i}]", (string?)v))
            : section.GetChildren().Select(c => (c.Path, c.Value));
        var list = new List<int>();
        bool any = false;
        foreach (var (k, v) in items)
        {
            any = true;
            Value(k);
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
        List(key);
        var section = _root.GetSection(key);
        IEnumerable<(string Key, string? Value)> items = section.Value is { } csv
            ? csv.Split(',', StringSplitOptions.TrimEntries).Select((v, i) => ($"{key}[{i}]", (string?)v))
            : section.GetChildren().Select(c => (c.Path, c.Value));
        var list = new List<string>();
        bool any = false;
        foreach (var (k, v) in items)
        {
            any = true;
            Value(k);
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

    /// <summary>Reports every key of the whole configuration, at any depth, that nothing read (through this binder's
    /// readers, <see cref="Children"/>, <see cref="Section"/> or <see cref="Known"/>), and every key read as a single
    /// value that holds an object or a list. Environment variables are shared with other programs, so a key that only
    /// they set is reported only under a section this executable reads (<c>DATAPLANE_Upstream__Adress</c> is reported;
    /// <c>DATAPLANE_BIN</c> or another executable's <c>DATAPLANE_AGENT_…</c> keys are not). The names are accepted for
    /// compatibility and ignored: the walk always covers the whole tree.</summary>
    public void RejectUnknownKeys(params string[] sections)
    {
        _ = sections;
        foreach (var child in _root.GetChildren())
        {
            Walk(child);
        }
    }

    private void Value(string key)
    {
        _values.Add(key);
        NoteSection(key);
    }

    private void List(string key)
    {
        _lists.Add(key);
        NoteSection(key);
    }

    /// <summary>Remembers the top-level section of a key this executable reads.</summary>
    private void NoteSection(string key)
    {
        int colon = key.IndexOf(':', StringComparison.Ordinal);
        _sections.Add(colon < 0 ? key : key[..colon]);
    }

    private void Walk(IConfigurationSection section)
    {
        string path = section.Path;
        if (_subtrees.Contains(path) || _lists.Contains(path))
        {
            return;
        }

        var children = section.GetChildren().ToList();
        if (_values.Contains(path))
        {
            if (children.Count > 0 && Reportable(path, children))
            {
                Error(path, "expected a single value, not an object or a list");
            }

            return;
        }

        if (children.Count == 0)
        {
            if (Reportable(path, children))
            {
                Error(path, "unknown setting (check its spelling and docs/CONFIGURATION.md)");
            }

            return;
        }

        foreach (var c in children)
        {
            Walk(c);
        }
    }

    /// <summary>False for a key that only environment variables set, outside every section this executable reads.</summary>
    private bool Reportable(string path, List<IConfigurationSection> children)
    {
        int colon = path.IndexOf(':', StringComparison.Ordinal);
        if (_sections.Contains(colon < 0 ? path : path[..colon]) || _root is not IConfigurationRoot root)
        {
            return true;
        }

        foreach (var provider in root.Providers)
        {
            if (provider is EnvironmentVariablesConfigurationProvider)
            {
                continue;
            }

            if (provider.TryGet(path, out _) || (children.Count > 0 && provider.GetChildKeys([], path).Any()))
            {
                return true;
            }
        }

        return false;
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

/// <summary>Invalid configuration: one problem per entry of <see cref="Errors"/>, each a single line naming the key,
/// switch or file and the reason. The message is those lines, one per line, with no header, so that an executable
/// prints each with its own name in front and a single mistake gives a single line.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IReadOnlyList<string> errors)
        : base(string.Join(Environment.NewLine, errors.Select(OneLine))) =>
        Errors = [.. errors.Select(OneLine)];

    public ConfigurationException()
        : this([])
    {
    }

    public ConfigurationException(string message)
        : base(OneLine(message)) => Errors = [OneLine(message)];

    public ConfigurationException(string message, Exception inner)
        : base(OneLine(message), inner) => Errors = [OneLine(message)];

    public IReadOnlyList<string> Errors { get; } = [];

    /// <summary>Writes every problem to <paramref name="error"/>, one line each, behind <paramref name="prefix"/>
    /// (e.g. "dataplane: ").</summary>
    public void WriteTo(TextWriter error, string prefix)
    {
        ArgumentNullException.ThrowIfNull(error);
        foreach (string e in Errors)
        {
            error.WriteLine(prefix + e);
        }
    }

    /// <summary>Line breaks in a reason (e.g. from a library's message) become spaces.</summary>
    private static string OneLine(string text) =>
        text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal)
            ? string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            : text;
}
