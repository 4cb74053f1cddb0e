using System.Globalization;

namespace DataPlane.Tuning.Sysctl;

/// <summary>One line of a sysctl.d file: a key and the value to write.</summary>
/// <param name="Key">Dotted key, e.g. "net.core.somaxconn".</param>
/// <param name="Value">The value with runs of blanks collapsed to one space (the kernel prints several fields with tabs).</param>
/// <param name="IgnoreErrors">The line started with '-': sysctl(8) ignores a failure to set it, and so do we.</param>
public sealed record SysctlSetting(string Key, string Value, bool IgnoreErrors = false)
{
    /// <summary>The file under /proc/sys, e.g. "net/core/somaxconn". Keys written with '/' are taken as they are
    /// (that is how sysctl.d spells a key whose parts contain dots, such as a VLAN interface).</summary>
    public string ProcPath => Key.Contains('/', StringComparison.Ordinal) ? Key.TrimStart('/') : Key.Replace('.', '/');
}

/// <summary>Reads the sysctl.d format (sysctl.d(5)): <c>key = value</c> lines, <c>#</c> and <c>;</c> comments, blank
/// lines, a leading <c>-</c> to ignore failures. Later lines win over earlier ones for the same key.</summary>
public static class SysctlFile
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names the file in errors.</summary>
    public static IReadOnlyList<SysctlSetting> Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var settings = new List<SysctlSetting>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}:{i + 1}: expected 'key = value', got '{line}'"));
            }

            bool ignore = line[0] == '-';
            string key = line[(ignore ? 1 : 0)..eq].Trim();
            string value = Normalize(line[(eq + 1)..]);
            if (key.Length == 0 || key.Contains("..", StringComparison.Ordinal) || key.Any(c => char.IsWhiteSpace(c) || c == '*'))
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}:{i + 1}: '{key}' is not a sysctl key (globs are not supported)"));
            }

            settings.RemoveAll(s => s.Key == key);
            settings.Add(new SysctlSetting(key, value, ignore));
        }

        return settings;
    }

    /// <summary>Collapses blanks (spaces, tabs) to single spaces and trims, so "4096\t131072" equals "4096 131072".</summary>
    public static string Normalize(string value) =>
        string.Join(' ', value.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
}
