namespace DataPlane.CommandLine;

/// <summary>One option as it was given: the declared option and its value (null for a flag).</summary>
/// <param name="Option">The declared option.</param>
/// <param name="Value">The value; null for a flag.</param>
public readonly record struct GivenOption(CommandOption Option, string? Value);

/// <summary>A verb's command line as the parser read it: help or version asked for, one error naming the argument,
/// or the options (in the order given), the positional arguments and the configuration keys.</summary>
public sealed class ParsedCommand
{
    private readonly List<GivenOption> _given;

    internal ParsedCommand(CommandSpec spec, List<GivenOption> given, IReadOnlyList<string> positionals, bool help, bool version,
        string? error)
    {
        Spec = spec;
        _given = given;
        Positionals = positionals;
        ConfigurationKeys = given.Where(g => g.Option == CommandSpec.ConfigurationKey).Select(g => g.Value!).ToList();
        HelpRequested = help;
        VersionRequested = version;
        Error = error;
    }

    /// <summary>The verb read.</summary>
    public CommandSpec Spec { get; }

    /// <summary><c>-h</c> or <c>--help</c> was given: nothing else is checked.</summary>
    public bool HelpRequested { get; }

    /// <summary><c>--version</c> was given (and no help): nothing else is checked.</summary>
    public bool VersionRequested { get; }

    /// <summary>What is wrong, naming the argument (without the program, see <see cref="CommandSpec.FormatError"/>);
    /// null when the command line was accepted or help was asked for. With <see cref="VersionRequested"/> it says
    /// that the executable answers that, so a verb run on its own never runs with it.</summary>
    public string? Error { get; }

    /// <summary>The options in the order given; a configuration key as <see cref="CommandSpec.ConfigurationKey"/>.</summary>
    public IReadOnlyList<GivenOption> Given => _given;

    /// <summary>The positional arguments in order.</summary>
    public IReadOnlyList<string> Positionals { get; }

    /// <summary>The <c>--Section:Key=value</c> arguments, each as one <c>--Section:Key=value</c> string.</summary>
    public IReadOnlyList<string> ConfigurationKeys { get; }

    /// <summary>Whether the option <paramref name="name"/> was given.</summary>
    public bool Has(string name)
    {
        foreach (var g in _given)
        {
            if (g.Option.Matches(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The last value of <paramref name="name"/>, or null when it was not given.</summary>
    public string? Value(string name)
    {
        for (int i = _given.Count - 1; i >= 0; i--)
        {
            if (_given[i].Option.Matches(name))
            {
                return _given[i].Value;
            }
        }

        return null;
    }

    /// <summary>Every value of <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> Values(string name)
    {
        var values = new List<string>();
        foreach (var g in _given)
        {
            if (g.Option.Matches(name) && g.Value is not null)
            {
                values.Add(g.Value);
            }
        }

        return values;
    }
}
