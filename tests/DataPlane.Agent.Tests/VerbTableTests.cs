namespace DataPlane.Agent.Tests;

/// <summary>Every verb of <c>dataplane-agent</c>, through the executable's own entry point: the shared checks of
/// <see cref="VerbTable{TExecutable}"/> (<c>--help</c> and <c>-h</c>, an unknown switch, <c>--version</c>), and the
/// agent's own one-line refusals. None of these start anything.</summary>
public class VerbTableTests : VerbTable<VerbTableTests>, IVerbTableExecutable
{
    public static string Program => "dataplane-agent";

    public static IReadOnlyList<string> VerbNames { get; } = ["serve", "sim-local", "train", "calibrate", "hash-key"];

    public static EntryPoint EntryPoint => AgentCommands.RunAsync;

    public static IEnumerable<string> DeclaredVerbs => AgentCommands.App.Verbs.Select(v => v.Name);

    public static string Version => AgentCommands.Version;

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
