using DataPlane.Host.Cli;

namespace DataPlane.Host.Tests.Cli;

/// <summary>Every verb of <c>dataplane</c>, through the executable's own entry point: the shared checks of
/// <see cref="VerbTable{TExecutable}"/> (<c>--help</c> and <c>-h</c>, an unknown switch, <c>--version</c>), the
/// executable's help and its one-line refusals. None of these start anything.</summary>
public class VerbTableTests : VerbTable<VerbTableTests>, IVerbTableExecutable
{
    public static string Program => "dataplane";

    public static IReadOnlyList<string> VerbNames { get; } =
        ["serve", "sim", "bench", "bench-agent", "demo", "plan", "topo", "selftest", "tune", "xfer-bench"];

    public static EntryPoint EntryPoint => Commands.RunAsync;

    public static IEnumerable<string> DeclaredVerbs => Commands.App.Verbs.Select(v => v.Name);

    public static string Version => Commands.App.Version;

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task The_executables_help_lists_every_verb(string arg)
    {
        var (exit, stdout, _) = await Run(arg);
        Assert.Equal(0, exit);
        foreach (string verb in VerbNames)
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
    [InlineData("selftest", "--no-such-switch")]
    [InlineData("selftest", "--ibv-devinfo")]
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
