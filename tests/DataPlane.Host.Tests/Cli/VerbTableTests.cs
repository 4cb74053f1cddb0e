using DataPlane.Host.Cli;

namespace DataPlane.Host.Tests.Cli;

/// <summary>Every verb of <c>dataplane</c>, through the executable's own entry point: <c>--help</c> and <c>-h</c> print
/// its usage, an unknown switch is one line on stderr with exit status 2, <c>--version</c> prints the version. None of
/// these start anything.</summary>
public class VerbTableTests
{
    private static readonly string[] s_verbs = ["serve", "sim", "bench", "bench-agent", "demo", "plan", "topo", "tune", "xfer-bench"];

    public static TheoryData<string> Verbs => new(s_verbs);

    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = await Commands.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString().ReplaceLineEndings("\n"), stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_table_names_every_verb_of_the_executable()
    {
        Assert.Equal(s_verbs.Order(StringComparer.Ordinal), Commands.App.Verbs.Select(v => v.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_and_h_print_the_verbs_usage(string verb)
    {
        var help = await Run(verb, "--help");
        Assert.Equal(0, help.Exit);
        Assert.StartsWith($"dataplane {verb} — ", help.Out, StringComparison.Ordinal);
        Assert.Contains($"\nUsage: dataplane {verb}", help.Out, StringComparison.Ordinal);
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
        Assert.StartsWith("dataplane", stderr, StringComparison.Ordinal);
        Assert.Contains("'--frobnicate'", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Version_prints_the_version(string verb)
    {
        var (exit, stdout, stderr) = await Run(verb, "--version");
        Assert.Equal(0, exit);
        Assert.Equal($"dataplane {Commands.App.Version}\n", stdout);
        Assert.Empty(stderr);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    public async Task The_executables_version_is_printed_not_served(string arg)
    {
        var (exit, stdout, _) = await Run(arg);
        Assert.Equal(0, exit);
        Assert.Matches(@"^dataplane \d+\.\d+\.\d+\S*\n$", stdout);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task The_executables_help_lists_every_verb(string arg)
    {
        var (exit, stdout, _) = await Run(arg);
        Assert.Equal(0, exit);
        foreach (string verb in s_verbs)
        {
            Assert.Contains($"\n  {verb} ", stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_verb_is_one_line_and_exit_2()
    {
        var (exit, _, stderr) = await Run("frobnicate");
        Assert.Equal(2, exit);
        Assert.Equal("dataplane: unknown verb 'frobnicate' (see 'dataplane --help')\n", stderr);
    }

    [Theory]
    [InlineData("sim", "--no-such-switch")]
    [InlineData("topo", "--no-such-switch")]
    [InlineData("tune", "plan", "--no-such-switch")]
    [InlineData("tune", "plan", "--profile")]
    [InlineData("bench", "--rate")]
    [InlineData("plan", "--headroom")]
    [InlineData("demo", "--rates")]
    [InlineData("xfer-bench", "--connect")]
    public async Task Unknown_switches_and_missing_values_are_one_line(params string[] args)
    {
        var (exit, stdout, stderr) = await Run(args);
        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.EndsWith($"(see 'dataplane {args[0]} --help')\n", stderr, StringComparison.Ordinal);
    }
}
