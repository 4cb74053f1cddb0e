namespace DataPlane.Agent.Tests;

/// <summary>Every verb of <c>dataplane-agent</c>, through the executable's own entry point: <c>--help</c> and <c>-h</c>
/// print its usage, an unknown switch is one line on stderr with exit status 2, <c>--version</c> prints the version.
/// None of these start anything.</summary>
public class VerbTableTests
{
    private static readonly string[] s_verbs = ["serve", "sim-local", "train", "calibrate", "hash-key"];

    public static TheoryData<string> Verbs => new(s_verbs);

    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = await AgentCommands.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString().ReplaceLineEndings("\n"), stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_table_names_every_verb_of_the_executable()
    {
        Assert.Equal(s_verbs.Order(StringComparer.Ordinal), AgentCommands.App.Verbs.Select(v => v.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_and_h_print_the_verbs_usage(string verb)
    {
        var help = await Run(verb, "--help");
        Assert.Equal(0, help.Exit);
        Assert.StartsWith($"dataplane-agent {verb} — ", help.Out, StringComparison.Ordinal);
        Assert.Contains($"\nUsage: dataplane-agent {verb}", help.Out, StringComparison.Ordinal);
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
        Assert.StartsWith("dataplane-agent", stderr, StringComparison.Ordinal);
        Assert.Contains("'--frobnicate'", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Version_prints_the_version(string verb)
    {
        var (exit, stdout, stderr) = await Run(verb, "--version");
        Assert.Equal(0, exit);
        Assert.Equal($"dataplane-agent {AgentCommands.Version}\n", stdout);
        Assert.Empty(stderr);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    public async Task The_executables_version_is_printed_not_served(string arg)
    {
        var (exit, stdout, _) = await Run(arg);
        Assert.Equal(0, exit);
        Assert.Matches(@"^dataplane-agent \d+\.\d+\.\d+\S*\n$", stdout);
    }

    [Theory]
    [InlineData("train", "option --data is required")]
    [InlineData("calibrate", "option --data is required")]
    public async Task A_missing_required_option_is_one_line(string verb, string problem)
    {
        var (exit, _, stderr) = await Run(verb);
        Assert.Equal(2, exit);
        Assert.Equal($"dataplane-agent {verb}: {problem} (see 'dataplane-agent {verb} --help')\n", stderr);
    }

    [Fact]
    public async Task Hash_key_refuses_a_stray_argument_in_one_line()
    {
        var (exit, _, stderr) = await Run("hash-key", "secret");
        Assert.Equal(2, exit);
        Assert.Equal("dataplane-agent hash-key: unexpected argument 'secret' (see 'dataplane-agent hash-key --help')\n", stderr);
    }
}
