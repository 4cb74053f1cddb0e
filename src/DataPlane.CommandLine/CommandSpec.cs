namespace DataPlane.CommandLine;

/// <summary>One verb of an executable: its options and positional arguments, declared once, and the text around
/// them in the generated help.</summary>
/// <param name="Program">The executable, e.g. <c>dataplane</c>.</param>
/// <param name="Name">The verb, e.g. <c>bench</c>.</param>
/// <param name="Summary">One line: what the verb does.</param>
public sealed record CommandSpec(string Program, string Name, string Summary)
{
    /// <summary>The built-in <c>-h</c>/<c>--help</c> of every verb.</summary>
    public static readonly CommandOption Help = CommandOption.Flag("--help", "print this help and exit") with { Aliases = ["-h"] };

    /// <summary>The built-in <c>--version</c> of every verb.</summary>
    public static readonly CommandOption Version = CommandOption.Flag("--version", "print the version and exit");

    /// <summary>Stands for a <c>--Section:Key=value</c> argument in <see cref="ParsedCommand.Given"/> (its value is the
    /// whole <c>--Section:Key=value</c>), so configuration keys keep their place among the options.</summary>
    public static readonly CommandOption ConfigurationKey = CommandOption.Value("--Section:Key", "value", "any configuration key (docs/CONFIGURATION.md)");

    /// <summary>The usage lines without the program and verb (e.g. <c>[options]</c>); the first follows "Usage: ".</summary>
    public IReadOnlyList<string> Usage { get; init; } = ["[options]"];

    /// <summary>Paragraphs between the usage and the options.</summary>
    public string? Description { get; init; }

    /// <summary>The options, in help order.</summary>
    public IReadOnlyList<CommandOption> Options { get; init; } = [];

    /// <summary>The positional arguments, in order.</summary>
    public IReadOnlyList<CommandArgument> Arguments { get; init; } = [];

    /// <summary>Any <c>--Section:Key=value</c> is a configuration key, passed through in
    /// <see cref="ParsedCommand.ConfigurationKeys"/>.</summary>
    public bool AcceptsConfigurationKeys { get; init; }

    /// <summary>The verb reads its own arguments (the strict configuration layers of the serving verbs): the parser
    /// answers <c>--help</c> and <c>--version</c> and hands everything else through untouched.</summary>
    public bool PassThrough { get; init; }

    /// <summary>Text after the options (exit status, environment variables).</summary>
    public string? Epilogue { get; init; }

    /// <summary>The program and verb as the user types them, e.g. <c>dataplane bench</c>.</summary>
    public string Title => Name.Length == 0 ? Program : $"{Program} {Name}";

    /// <summary>The declared option <paramref name="name"/> (or alias), the built-in help and version included.</summary>
    public CommandOption? Find(string name)
    {
        foreach (var option in Options)
        {
            if (option.Matches(name))
            {
                return option;
            }
        }

        return Help.Matches(name) ? Help : Version.Matches(name) ? Version : null;
    }

    /// <summary>The generated help of this verb.</summary>
    public string RenderHelp() => HelpText.Render(this);

    /// <summary>The one line that reports <paramref name="problem"/>: <c>dataplane bench: unknown option '--x' (see
    /// 'dataplane bench --help')</c>.</summary>
    public string FormatError(string problem) => $"{Title}: {problem} (see '{Title} --help')";
}
