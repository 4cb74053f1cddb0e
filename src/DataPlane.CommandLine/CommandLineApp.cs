using System.Reflection;
using System.Text;

namespace DataPlane.CommandLine;

/// <summary>One executable's verbs: picks the verb (the default one when the first argument is a switch or there is
/// none), answers <c>--help</c>, <c>-h</c>, <c>help</c>, <c>--version</c> and <c>version</c> for the executable and
/// every verb, refuses unknown verbs and switches in one line with exit status 2, and runs the verb otherwise.</summary>
public sealed class CommandLineApp
{
    /// <summary>Exit status of a command line that was refused.</summary>
    public const int ExitUsage = 2;

    private readonly List<(CommandSpec Spec, Func<ParsedCommand, string[], Task<int>> Run)> _verbs = [];

    /// <summary>An executable named <paramref name="program"/> whose bare command line runs <paramref name="defaultVerb"/>.</summary>
    public CommandLineApp(string program, string summary, string version, string defaultVerb)
    {
        Program = program;
        Summary = summary;
        Version = version;
        DefaultVerb = defaultVerb;
    }

    /// <summary>The executable's name.</summary>
    public string Program { get; }

    /// <summary>The first line of the executable's help.</summary>
    public string Summary { get; }

    /// <summary>What <c>--version</c> prints after the program name.</summary>
    public string Version { get; }

    /// <summary>The verb of a command line that names none.</summary>
    public string DefaultVerb { get; }

    /// <summary>Text after the verb list of the executable's help.</summary>
    public string? Epilogue { get; init; }

    /// <summary>The verbs, in help order.</summary>
    public IEnumerable<CommandSpec> Verbs => _verbs.Select(v => v.Spec);

    /// <summary>Adds a verb; <paramref name="run"/> gets the parsed command line and the arguments after the verb.</summary>
    public CommandLineApp Add(CommandSpec spec, Func<ParsedCommand, string[], Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(run);
        _verbs.Add((spec, run));
        return this;
    }

    /// <summary>The informational version of <paramref name="assembly"/> without its source-revision suffix
    /// (e.g. "0.1.0"), or its assembly version.</summary>
    public static string VersionOf(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (informational is { Length: > 0 })
        {
            int plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus > 0 ? informational[..plus] : informational;
        }

        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }

    /// <summary>Runs the command line <paramref name="args"/>; help, version and refusals go to the writers given.</summary>
    public async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
        {
            if (args.Length > 1 && args[0] == "help" && Find(args[1]) is { } topic)
            {
                await stdout.WriteLineAsync(topic.Spec.RenderHelp()).ConfigureAwait(false);
                return 0;
            }

            await stdout.WriteLineAsync(RenderHelp()).ConfigureAwait(false);
            return 0;
        }

        if (args.Length > 0 && args[0] is "--version" or "version")
        {
            await stdout.WriteLineAsync($"{Program} {Version}").ConfigureAwait(false);
            return 0;
        }

        bool named = args.Length > 0 && !args[0].StartsWith('-');
        string name = named ? args[0] : DefaultVerb;
        string[] rest = named ? args[1..] : args;
        if (Find(name) is not { } verb)
        {
            await stderr.WriteLineAsync($"{Program}: unknown verb '{CommandParser.Clip(name)}' (see '{Program} --help')").ConfigureAwait(false);
            return ExitUsage;
        }

        var parsed = CommandParser.Parse(verb.Spec, rest);
        if (parsed.HelpRequested)
        {
            await stdout.WriteLineAsync(verb.Spec.RenderHelp()).ConfigureAwait(false);
            return 0;
        }

        if (parsed.VersionRequested)
        {
            await stdout.WriteLineAsync($"{Program} {Version}").ConfigureAwait(false);
            return 0;
        }

        if (parsed.Error is { } error)
        {
            await stderr.WriteLineAsync(verb.Spec.FormatError(error)).ConfigureAwait(false);
            return ExitUsage;
        }

        return await verb.Run(parsed, rest).ConfigureAwait(false);
    }

    /// <summary>The executable's help: the summary and one line per verb.</summary>
    public string RenderHelp()
    {
        var text = new StringBuilder();
        text.Append(Program).Append(" — ").Append(Summary).Append("\n\nUsage: ").Append(Program)
            .Append(" [VERB] [options]   (VERB defaults to ").Append(DefaultVerb).Append(")\n\nVerbs:\n");
        foreach (var (spec, _) in _verbs)
        {
            text.Append("  ").Append(spec.Name.PadRight(14)).Append(spec.Summary).Append('\n');
        }

        text.Append("\nOptions:\n  -h, --help    print this help and exit (VERB --help: the verb's)\n  --version     print the version and exit\n");
        if (Epilogue is { } epilogue)
        {
            text.Append('\n').Append(epilogue.TrimEnd()).Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    private (CommandSpec Spec, Func<ParsedCommand, string[], Task<int>> Run)? Find(string name)
    {
        foreach (var verb in _verbs)
        {
            if (verb.Spec.Name == name)
            {
                return verb;
            }
        }

        return null;
    }
}
