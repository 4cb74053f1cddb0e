using DataPlane.Bench.Agent;

namespace DataPlane.Bench.Tests.Agent;

public sealed class AgentBenchArgumentsTests
{
    private static AgentBenchSettings Parse(params string[] args)
    {
        var result = AgentBenchArguments.Parse(args);
        Assert.Null(result.Error);
        Assert.False(result.HelpRequested);
        return result.Settings!;
    }

    private static string Error(params string[] args)
    {
        var result = AgentBenchArguments.Parse(args);
        Assert.Null(result.Settings);
        Assert.False(result.HelpRequested);
        return Assert.IsType<string>(result.Error);
    }

    [Fact]
    public void No_arguments_give_the_documented_defaults()
    {
        var s = Parse();

        Assert.Equal(new Uri("http://127.0.0.1:8090/v1/chat/completions"), s.TargetCompletions);
        Assert.Equal("local-small", s.Model);
        Assert.Null(s.PromptsPath);
        Assert.Equal(0.7, s.ShortShare);
        Assert.True(s.OpenLoop);
        Assert.Equal(4, s.Rate);
        Assert.Equal(32, s.MaxTokens);
        Assert.True(s.Stream);
        Assert.Null(s.Mode);
        Assert.Null(s.SloMs);
        Assert.Null(s.DirectUrl);
        Assert.Null(s.MetricsUrl);
        Assert.Equal(1, s.Seed);
        Assert.Equal(TimeSpan.FromSeconds(60), s.Timeout);
    }

    [Fact]
    public void Every_option_is_read_in_both_spellings()
    {
        var s = Parse("--target", "http://10.0.0.5:9000", "--model=m1", "--short-share", "0.5", "--rate=12.5", "--duration", "3",
            "--warmup=0", "--max-tokens", "8", "--stream=false", "--mode", "speculative", "--slo-ms", "250",
            "--direct-url", "http://127.0.0.1:8081/", "--metrics-url=http://127.0.0.1:9090", "--json", "out.jsonl", "--csv", "out.csv",
            "--label", "pi5 run", "--seed", "-7", "--timeout-ms", "1500");

        Assert.Equal(new Uri("http://10.0.0.5:9000/v1/chat/completions"), s.TargetCompletions);
        Assert.Equal("m1", s.Model);
        Assert.Equal(0.5, s.ShortShare);
        Assert.Equal(12.5, s.Rate);
        Assert.Equal(TimeSpan.FromSeconds(3), s.Duration);
        Assert.Equal(TimeSpan.Zero, s.Warmup);
        Assert.Equal(8, s.MaxTokens);
        Assert.False(s.Stream);
        Assert.Equal("speculative", s.Mode);
        Assert.Equal(250, s.SloMs);
        Assert.Equal(new Uri("http://127.0.0.1:8081/v1/chat/completions"), s.DirectCompletions);
        Assert.Equal(new Uri("http://127.0.0.1:9090/metrics"), AgentBenchSettings.MetricsEndpoint(s.MetricsUrl!));
        Assert.Equal("out.jsonl", s.JsonPath);
        Assert.Equal("out.csv", s.CsvPath);
        Assert.Equal("pi5 run", s.Label);
        Assert.Equal(-7, s.Seed);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), s.Timeout);
    }

    [Fact]
    public void Concurrency_selects_the_closed_loop_and_prompts_a_file()
    {
        var s = Parse("--concurrency", "3", "--prompts", "p.jsonl");

        Assert.False(s.OpenLoop);
        Assert.Equal(3, s.Concurrency);
        Assert.Equal("p.jsonl", s.PromptsPath);
    }

    [Fact]
    public void A_url_that_already_names_the_endpoint_is_kept_and_a_metrics_path_is_kept()
    {
        var s = Parse("--target", "http://h:1/v1/chat/completions", "--metrics-url", "http://h:2/custom/metrics");

        Assert.Equal(new Uri("http://h:1/v1/chat/completions"), s.TargetCompletions);
        Assert.Equal(new Uri("http://h:2/custom/metrics"), AgentBenchSettings.MetricsEndpoint(s.MetricsUrl!));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_wins_over_anything_else(string help)
    {
        var result = AgentBenchArguments.Parse(["--rate", "nope", help]);

        Assert.True(result.HelpRequested);
        Assert.Null(result.Error);
        Assert.Contains("--direct-url", AgentBenchArguments.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--target", "ftp://x", "--target")]
    [InlineData("--target", "not a url", "--target")]
    [InlineData("--direct-url", "127.0.0.1:8081", "--direct-url")]
    [InlineData("--metrics-url", "nope", "--metrics-url")]
    [InlineData("--model", "", "--model")]
    [InlineData("--prompts", "", "--prompts")]
    [InlineData("--short-share", "1.5", "--short-share")]
    [InlineData("--short-share", "-0.1", "--short-share")]
    [InlineData("--short-share", "most", "--short-share")]
    [InlineData("--rate", "0", "--rate")]
    [InlineData("--rate", "-1", "--rate")]
    [InlineData("--rate", "fast", "--rate")]
    [InlineData("--rate", "NaN", "--rate")]
    [InlineData("--concurrency", "0", "--concurrency")]
    [InlineData("--concurrency", "1.5", "--concurrency")]
    [InlineData("--concurrency", "100000", "--concurrency")]
    [InlineData("--duration", "0", "--duration")]
    [InlineData("--warmup", "-1", "--warmup")]
    [InlineData("--warmup", "x", "--warmup")]
    [InlineData("--max-tokens", "0", "--max-tokens")]
    [InlineData("--max-tokens", "ten", "--max-tokens")]
    [InlineData("--stream", "yes", "--stream")]
    [InlineData("--mode", "fast", "--mode")]
    [InlineData("--slo-ms", "0", "--slo-ms")]
    [InlineData("--json", "", "--json")]
    [InlineData("--csv", "", "--csv")]
    [InlineData("--label", "two\nlines", "--label")]
    [InlineData("--seed", "1.5", "--seed")]
    [InlineData("--timeout-ms", "0", "--timeout-ms")]
    [InlineData("--timeout-ms", "1e12", "--timeout-ms")]
    public void An_invalid_value_is_refused_naming_its_option(string option, string value, string named)
    {
        Assert.Contains(named, Error(option, value), StringComparison.Ordinal);
        Assert.Contains(named, Error($"{option}={value}"), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_options_missing_values_and_positional_arguments_are_named()
    {
        Assert.Contains("'--rps'", Error("--rps", "3"), StringComparison.Ordinal);
        Assert.Contains("--rate needs a value", Error("--rate"), StringComparison.Ordinal);
        Assert.Contains("'fast'", Error("fast"), StringComparison.Ordinal);
        Assert.Contains("'--'", Error("--"), StringComparison.Ordinal);
    }

    [Fact]
    public void Contradictory_combinations_are_refused_naming_both_sides()
    {
        string both = Error("--rate", "2", "--concurrency", "2");
        Assert.Contains("--rate", both, StringComparison.Ordinal);
        Assert.Contains("--concurrency", both, StringComparison.Ordinal);

        string share = Error("--prompts", "p.jsonl", "--short-share", "0.5");
        Assert.Contains("--short-share", share, StringComparison.Ordinal);
        Assert.Contains("--prompts", share, StringComparison.Ordinal);

        Assert.Contains("--rate", Error("--rate", "1000000", "--duration", "1000"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_prints_help_and_exits_0_and_refuses_bad_arguments_with_exit_2()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        Assert.Equal(0, await AgentBenchCommand.RunAsync(["--help"], stdout, stderr, CancellationToken.None));
        Assert.Contains("Usage: dataplane bench-agent", stdout.ToString(), StringComparison.Ordinal);

        Assert.Equal(2, await AgentBenchCommand.RunAsync(["--max-tokens", "0"], stdout, stderr, CancellationToken.None));
        Assert.Contains("--max-tokens", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_or_malformed_prompt_file_exits_2_naming_the_option()
    {
        using var folder = new TempFolder();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        Assert.Equal(2, await AgentBenchCommand.RunAsync(["--prompts", folder.File("absent.jsonl")], stdout, stderr, CancellationToken.None));
        Assert.Contains("--prompts", stderr.ToString(), StringComparison.Ordinal);

        File.WriteAllText(folder.File("bad.jsonl"), "{\"prompt\": \"ok\"}\nnot json\n");
        using var stderr2 = new StringWriter();
        Assert.Equal(2, await AgentBenchCommand.RunAsync(["--prompts", folder.File("bad.jsonl")], stdout, stderr2, CancellationToken.None));
        Assert.Contains(":2:", stderr2.ToString(), StringComparison.Ordinal);

        File.WriteAllText(folder.File("empty.jsonl"), "\n");
        using var stderr3 = new StringWriter();
        Assert.Equal(2, await AgentBenchCommand.RunAsync(["--prompts", folder.File("empty.jsonl")], stdout, stderr3, CancellationToken.None));
        Assert.Contains("no prompts", stderr3.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_csv_file_with_other_columns_is_refused_before_any_load()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("other.csv"), "a,b,c\n1,2,3\n");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int exit = await AgentBenchCommand.RunAsync(["--target", "http://127.0.0.1:9", "--csv", folder.File("other.csv")], stdout, stderr,
            CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Contains("--csv", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal("", stdout.ToString());
    }
}
