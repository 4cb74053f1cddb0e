namespace DataPlane.CommandLine;

/// <summary>How an option takes its value.</summary>
public enum OptionArity
{
    /// <summary>A flag: present or not; <c>--flag=value</c> is an error.</summary>
    Flag,

    /// <summary>A value, as the next argument or after '=' (<c>--rate 200</c>, <c>--rate=200</c>).</summary>
    Value,

    /// <summary>A flag that may carry true or false, after '=' or as the next argument when that is one of them
    /// (<c>--allow-client-shm</c>, <c>--allow-client-shm=false</c>, <c>--allow-client-shm false</c>); alone it reads
    /// "true".</summary>
    OptionalBoolean,
}

/// <summary>One option of a verb, declared once: the parser, the generated help and the error messages read it.</summary>
/// <param name="Name">The long name with its dashes, e.g. <c>--rate</c>.</param>
/// <param name="Description">The help text; a '\n' continues it on the next help line.</param>
public sealed record CommandOption(string Name, string Description)
{
    /// <summary>What the value is called in the help (e.g. <c>R</c>, <c>FILE</c>); null for a flag.</summary>
    public string? ValueName { get; init; }

    /// <summary>How the option takes its value; <see cref="OptionArity.Value"/> when <see cref="ValueName"/> is set.</summary>
    public OptionArity Arity { get; init; } = OptionArity.Flag;

    /// <summary>Other spellings, e.g. <c>-h</c>.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The command line is refused without it.</summary>
    public bool Required { get; init; }

    /// <summary>May be given more than once, every value kept (otherwise the last one wins).</summary>
    public bool Repeatable { get; init; }

    /// <summary>Not listed in the help (still accepted).</summary>
    public bool Hidden { get; init; }

    /// <summary>An option that takes a value named <paramref name="valueName"/>.</summary>
    public static CommandOption Value(string name, string valueName, string description) =>
        new(name, description) { ValueName = valueName, Arity = OptionArity.Value };

    /// <summary>A flag.</summary>
    public static CommandOption Flag(string name, string description) => new(name, description);

    /// <summary>Whether <paramref name="name"/> is this option's name or one of its aliases.</summary>
    public bool Matches(string name) => name == Name || Aliases.Contains(name);
}

/// <summary>A positional argument of a verb (e.g. the action of <c>dataplane tune plan</c>).</summary>
/// <param name="Name">What the help calls it.</param>
/// <param name="Description">The help text.</param>
/// <param name="Required">The command line is refused without it.</param>
public sealed record CommandArgument(string Name, string Description, bool Required = false);
