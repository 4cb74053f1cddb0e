namespace DataPlane.CommandLine.Tests;

public class HelpTextTests
{
    [Fact]
    public void Help_lists_usage_description_every_visible_option_and_the_built_ins()
    {
        var spec = new CommandSpec("tool", "run", "does a run")
        {
            Usage = ["--server [options]", "--connect HOST:PORT [options]"],
            Description = "A paragraph.",
            Options =
            [
                CommandOption.Value("--rate", "R", "requests per second\nsecond line"),
                CommandOption.Value("--a-very-long-option-name", "VALUE", "described on the next line") with { Required = true },
                CommandOption.Flag("--secret", "not shown") with { Hidden = true },
                new CommandOption("--shm", "shared memory") { Arity = OptionArity.OptionalBoolean },
            ],
            AcceptsConfigurationKeys = true,
            Epilogue = "Exit codes: 0 done.",
        };
        string help = spec.RenderHelp();
        Assert.StartsWith("tool run — does a run\n\nUsage: tool run --server [options]\n       tool run --connect HOST:PORT [options]\n", help, StringComparison.Ordinal);
        Assert.Contains("\nA paragraph.\n", help, StringComparison.Ordinal);
        Assert.Contains("\n  --rate R                requests per second\n                          second line\n", help, StringComparison.Ordinal);
        Assert.Contains("\n  --a-very-long-option-name VALUE\n                          described on the next line (required)\n", help, StringComparison.Ordinal);
        Assert.DoesNotContain("--secret", help, StringComparison.Ordinal);
        Assert.Contains("--shm[=true|false]", help, StringComparison.Ordinal);
        Assert.Contains("--Section:Key=value", help, StringComparison.Ordinal);
        Assert.Contains("\n  -h, --help              print this help and exit\n", help, StringComparison.Ordinal);
        Assert.Contains("\n  --version               print the version and exit\n", help, StringComparison.Ordinal);
        Assert.EndsWith("\nExit codes: 0 done.", help, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_is_one_line_that_points_at_the_help()
    {
        var spec = new CommandSpec("dataplane", "sim", "the simulated Triton");
        Assert.Equal("dataplane sim: unknown option '--frobnicate' (see 'dataplane sim --help')",
            spec.FormatError("unknown option '--frobnicate'"));
    }
}
