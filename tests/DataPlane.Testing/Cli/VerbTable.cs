using System.Text.RegularExpressions;

namespace DataPlane.Testing;

/// <summary>An executable's entry point with its output streams: what the process's <c>Main</c> runs.</summary>
/// <param name="args">The command line after the program name.</param>
/// <param name="stdout">Where the help, the version and results go.</param>
/// <param name="stderr">Where errors go.</param>
/// <returns>The exit status.</returns>
public delegate Task<int> EntryPoint(string[] args, TextWriter stdout, TextWriter stderr);

/// <summary>What <see cref="VerbTable{TExecutable}"/> checks: an executable's name, entry point, verbs and version,
/// supplied by the test class of the executable's test project.</summary>
public interface IVerbTableExecutable
{
    /// <summary>The program name its help, version and errors start with, e.g. <c>dataplane</c>.</summary>
    static abstract string Program { get; }

    /// <summary>The executable's own entry point.</summary>
    static abstract EntryPoint EntryPoint { get; }

    /// <summary>Every verb of the executable, as the test writes them down.</summary>
    static abstract IReadOnlyList<string> VerbNames { get; }

    /// <summary>The verbs the executable's dispatcher declares.</summary>
    static abstract IEnumerable<string> DeclaredVerbs { get; }

    /// <summary>The version <c>--version</c> prints.</summary>
    static abstract string Version { get; }
}

/// <summary>The table-driven command-line checks of every verb of an executable, through its own entry point:
/// <c>--help</c> and <c>-h</c> print the verb's usage, an unknown switch is one line on stderr with exit status 2,
/// <c>--version</c> prints the version. None of these start anything. A test project derives its verb table test
/// from this class (which names the executable, <typeparamref name="TExecutable"/>) and adds its own cases.</summary>
/// <typeparam name="TExecutable">The derived test class, naming the executable.</typeparam>
public abstract class VerbTable<TExecutable>
    where TExecutable : IVerbTableExecutable
{
    /// <summary>Every verb, one case each.</summary>
    public static TheoryData<string> Verbs => new(TExecutable.VerbNames);

    /// <summary>Runs the executable's entry point with <paramref name="args"/>; its output with '\n' line ends.</summary>
    protected static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = await TExecutable.EntryPoint(args, stdout, stderr);
        return (exit, stdout.ToString().ReplaceLineEndings("\n"), stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_table_names_every_verb_of_the_executable()
    {
        Assert.Equal(TExecutable.VerbNames.Order(StringComparer.Ordinal), TExecutable.DeclaredVerbs.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_and_h_print_the_verbs_usage(string verb)
    {
        var help = await Run(verb, "--help");
        Assert.Equal(0, help.Exit);
        Assert.StartsWith($"{TExecutable.Program} {verb} — ", help.Out, StringComparison.Ordinal);
        Assert.Contains($"\nUsage: {TExecutable.Program} {verb}", help.Out, StringComparison.Ordinal);
        Assert.Contains("-h, --help", help.Out, StringComparison.Ordinal);
        Assert.Empty(help.Err);
        Assert.Equal(help, await Run(verb, "-h"));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task An_unknown_switch_is_one_line_on_stderr_and_exit_2(string verb)
    {
        var (exit, stdout, stderr) = await Run(verb, "--frobnicate");
        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith(TExecutable.Program, stderr, StringComparison.Ordinal);
        Assert.Contains("'--frobnicate'", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Version_prints_the_version(string verb)
    {
        var (exit, stdout, stderr) = await Run(verb, "--version");
        Assert.Equal(0, exit);
        Assert.Equal($"{TExecutable.Program} {TExecutable.Version}\n", stdout);
        Assert.Empty(stderr);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    public async Task The_executables_version_is_printed_not_served(string arg)
    {
        var (exit, stdout, _) = await Run(arg);
        Assert.Equal(0, exit);
        Assert.Matches($@"^{Regex.Escape(TExecutable.Program)} \d+\.\d+\.\d+\S*\n$", stdout);
    }
}
