namespace DataPlane.CommandLine.Tests;

public class CommandLineAppTests
{
    private readonly List<(string Verb, string? Rate, string[] Args)> _ran = [];

    private CommandLineApp App()
    {
        var serve = new CommandSpec("tool", "serve", "serve it") { PassThrough = true, Options = [CommandOption.Value("--port", "N", "port")] };
        var bench = new CommandSpec("tool", "bench", "load it") { Options = [CommandOption.Value("--rate", "R", "rate")] };
        return new CommandLineApp("tool", "a tool", "1.2.3", "serve")
            .Add(serve, (p, rest) => Ran("serve", p, rest))
            .Add(bench, (p, rest) => Ran("bench", p, rest));
    }

    private Task<int> Ran(string verb, ParsedCommand parsed, string[] rest)
    {
        _ran.Add((verb, parsed.Value("--rate"), rest));
        return Task.FromResult(0);
    }

    private async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = await App().RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("version")]
    [InlineData("serve", "--version")]
    [InlineData("bench", "--rate", "1", "--version")]
    public async Task Version_prints_the_program_and_version_and_runs_nothing(params string[] args)
    {
        var (exit, stdout, stderr) = await Run(args);
        Assert.Equal(0, exit);
        Assert.Equal("tool 1.2.3\n", stdout.ReplaceLineEndings("\n"));
        Assert.Empty(stderr);
        Assert.Empty(_ran);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task The_executables_help_lists_every_verb(string help)
    {
        var (exit, stdout, _) = await Run(help);
        Assert.Equal(0, exit);
        Assert.Contains("\n  serve         serve it\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("\n  bench         load it\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Empty(_ran);
    }

    [Theory]
    [InlineData("bench", "--help")]
    [InlineData("bench", "-h")]
    [InlineData("help", "bench")]
    [InlineData("bench", "--frobnicate", "--help")]
    public async Task A_verbs_help_is_its_own(params string[] args)
    {
        var (exit, stdout, _) = await Run(args);
        Assert.Equal(0, exit);
        Assert.StartsWith("tool bench — load it\n\nUsage: tool bench [options]", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Empty(_ran);
    }

    [Fact]
    public async Task An_unknown_verb_is_one_line_and_exit_2()
    {
        var (exit, stdout, stderr) = await Run("frobnicate");
        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Equal("tool: unknown verb 'frobnicate' (see 'tool --help')\n", stderr.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("unknown option '--frobnicate'", "bench", "--frobnicate")]
    [InlineData("option --rate needs a value (R)", "bench", "--rate")]
    [InlineData("unexpected argument 'x'", "bench", "x")]
    public async Task A_refused_command_line_is_one_line_and_exit_2(string problem, params string[] args)
    {
        var (exit, stdout, stderr) = await Run(args);
        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Equal($"tool bench: {problem} (see 'tool bench --help')\n", stderr.ReplaceLineEndings("\n"));
        Assert.Empty(_ran);
    }

    [Fact]
    public async Task A_bare_command_line_or_one_starting_with_a_switch_runs_the_default_verb()
    {
        Assert.Equal(0, (await Run()).Exit);
        Assert.Equal(0, (await Run("--port", "1", "--X:Y=2")).Exit);
        Assert.Equal(["serve", "serve"], _ran.Select(r => r.Verb));
        Assert.Equal(["--port", "1", "--X:Y=2"], _ran[1].Args);
    }

    [Fact]
    public async Task A_verb_runs_with_its_parsed_options_and_arguments()
    {
        Assert.Equal(0, (await Run("bench", "--rate=5")).Exit);
        Assert.Equal(("bench", "5"), (_ran[0].Verb, _ran[0].Rate));
        Assert.Equal(["--rate=5"], _ran[0].Args);
    }
}
