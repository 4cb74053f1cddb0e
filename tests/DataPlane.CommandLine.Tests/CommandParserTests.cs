namespace DataPlane.CommandLine.Tests;

public class CommandParserTests
{
    private static readonly CommandSpec s_spec = new("tool", "run", "does a run")
    {
        Options =
        [
            CommandOption.Value("--rate", "R", "requests per second"),
            CommandOption.Flag("--json", "as JSON"),
            CommandOption.Value("--load", "NAME", "a model to load") with { Repeatable = true },
            CommandOption.Value("--out", "FILE", "where to write") with { Aliases = ["-o"] },
            new CommandOption("--shm", "shared memory") { Arity = OptionArity.OptionalBoolean },
        ],
    };

    private static ParsedCommand Parse(params string[] args) => CommandParser.Parse(s_spec, args);

    [Fact]
    public void Values_come_as_the_next_argument_or_after_equals_and_the_last_one_wins()
    {
        var p = Parse("--rate", "5", "--rate=7", "--json");
        Assert.Null(p.Error);
        Assert.Equal("7", p.Value("--rate"));
        Assert.True(p.Has("--json"));
        Assert.False(p.Has("--out"));
        Assert.Null(p.Value("--out"));
        Assert.Equal(["--rate", "--rate", "--json"], p.Given.Select(g => g.Option.Name));
    }

    [Fact]
    public void A_repeatable_option_keeps_every_value_in_order()
    {
        Assert.Equal(["a", "b", "c"], Parse("--load", "a", "--load=b", "--load", "c").Values("--load"));
    }

    [Fact]
    public void An_alias_is_the_option()
    {
        var p = Parse("-o", "x.json");
        Assert.Equal("x.json", p.Value("--out"));
        Assert.Equal("x.json", p.Value("-o"));
    }

    [Theory]
    [InlineData(new string[] { "--shm" }, "true")]
    [InlineData(new string[] { "--shm=false" }, "false")]
    [InlineData(new string[] { "--shm", "false" }, "false")]
    [InlineData(new string[] { "--shm", "--json" }, "true")]
    [InlineData(new string[] { "--shm=True" }, "true")]
    [InlineData(new string[] { "--shm", "FALSE" }, "false")]
    public void An_optional_boolean_reads_true_alone(string[] args, string expected)
    {
        var p = Parse(args);
        Assert.Null(p.Error);
        Assert.Equal(expected, p.Value("--shm"));
    }

    [Theory]
    [InlineData(new string[] { "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new string[] { "--frobnicate=1" }, "unknown option '--frobnicate'")]
    [InlineData(new string[] { "-x" }, "unknown option '-x'")]
    [InlineData(new string[] { "--rate" }, "option --rate needs a value (R)")]
    [InlineData(new string[] { "--json=yes" }, "option --json takes no value")]
    [InlineData(new string[] { "--shm=maybe" }, "option --shm takes true or false, not 'maybe'")]
    [InlineData(new string[] { "stray" }, "unexpected argument 'stray'")]
    [InlineData(new string[] { "--rate", "1", "--bad", "--worse" }, "unknown option '--bad'")]
    [InlineData(new string[] { "--Section:Key=1" }, "unknown option '--Section:Key'")]
    public void A_mistake_is_one_error_naming_the_argument(string[] args, string expected)
    {
        var p = Parse(args);
        Assert.Equal(expected, p.Error);
        Assert.False(p.HelpRequested);
    }

    [Fact]
    public void Help_anywhere_wins_over_mistakes_and_version()
    {
        foreach (string help in new[] { "--help", "-h" })
        {
            var p = Parse("--frobnicate", "--version", help);
            Assert.True(p.HelpRequested);
            Assert.Null(p.Error);
        }
    }

    [Fact]
    public void Version_wins_over_mistakes()
    {
        var p = Parse("--rate", "1", "--version", "--frobnicate");
        Assert.True(p.VersionRequested);
        Assert.False(p.HelpRequested);
        Assert.Equal("the version is the executable's: tool --version", p.Error);
    }

    [Fact]
    public void A_required_option_or_argument_must_be_given()
    {
        var spec = s_spec with
        {
            Options = [CommandOption.Value("--data", "FILE", "input") with { Required = true }],
            Arguments = [new CommandArgument("ACTION", "what to do", Required: true)],
        };
        Assert.Equal("option --data is required", CommandParser.Parse(spec, ["go"]).Error);
        Assert.Equal("ACTION is required", CommandParser.Parse(spec, ["--data", "f"]).Error);
        var ok = CommandParser.Parse(spec, ["go", "--data", "f"]);
        Assert.Null(ok.Error);
        Assert.Equal(["go"], ok.Positionals);
        Assert.Equal("unexpected argument 'again'", CommandParser.Parse(spec, ["go", "again", "--data", "f"]).Error);
    }

    [Fact]
    public void Double_dash_is_a_stray_argument_of_a_verb_without_positional_arguments()
    {
        Assert.Equal("unexpected argument '--'", Parse("--").Error);
    }

    [Fact]
    public void Double_dash_ends_the_options()
    {
        var spec = s_spec with { Arguments = [new CommandArgument("NAME", "a name")] };
        var p = CommandParser.Parse(spec, ["--", "--json"]);
        Assert.Null(p.Error);
        Assert.Equal(["--json"], p.Positionals);
        Assert.False(p.Has("--json"));
    }

    [Fact]
    public void Configuration_keys_pass_through_where_the_verb_accepts_them()
    {
        var spec = s_spec with { AcceptsConfigurationKeys = true };
        var p = CommandParser.Parse(spec, ["--Simulation:Models:0:Name=m", "--Logging:LogLevel:Default", "Debug", "--json"]);
        Assert.Null(p.Error);
        Assert.Equal(["--Simulation:Models:0:Name=m", "--Logging:LogLevel:Default=Debug"], p.ConfigurationKeys);
        Assert.Equal("--A:B needs a value (--Section:Key=value)", CommandParser.Parse(spec, ["--A:B"]).Error);
    }

    [Fact]
    public void A_pass_through_verb_answers_help_and_version_and_leaves_the_rest_to_itself()
    {
        var spec = s_spec with { PassThrough = true };
        Assert.Null(CommandParser.Parse(spec, ["--anything", "goes", "--A:B=1"]).Error);
        Assert.True(CommandParser.Parse(spec, ["--anything", "-h"]).HelpRequested);
        Assert.True(CommandParser.Parse(spec, ["--version"]).VersionRequested);
    }

    [Fact]
    public void A_long_argument_is_clipped_in_the_error()
    {
        string error = Parse("--" + new string('x', 200)).Error!;
        Assert.True(error.Length < 90, error);
        Assert.EndsWith("…'", error, StringComparison.Ordinal);
    }
}
