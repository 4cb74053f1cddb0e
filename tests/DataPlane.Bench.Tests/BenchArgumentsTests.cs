namespace DataPlane.Bench.Tests;

public class BenchArgumentsTests
{
    [Fact]
    public void No_arguments_give_the_documented_defaults()
    {
        var r = BenchArguments.Parse([]);
        Assert.Null(r.Error);
        var s = Assert.IsType<BenchSettings>(r.Settings);
        Assert.Equal(new Uri("http://127.0.0.1:9001"), s.Target);
        Assert.Equal("simple", s.Model);
        Assert.Equal(RpcKind.Infer, s.Rpc);
        Assert.Equal(LoadMode.Poisson, s.Mode);
        Assert.Equal(TimeSpan.FromSeconds(5), s.Duration);
        Assert.Equal(TimeSpan.FromSeconds(1), s.Warmup);
        Assert.Equal(TimeSpan.FromMilliseconds(50), s.Slo);
        Assert.Equal(1, s.Batch);
        Assert.Equal(1, s.Connections);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Timeout);
        Assert.Null(s.CsvPath);
        Assert.Null(s.JsonPath);
        Assert.Equal([100.0], s.Steps);
    }

    [Fact]
    public void Every_option_is_read_with_a_separate_or_an_attached_value()
    {
        var r = BenchArguments.Parse([
            "--target", "http://10.0.0.1:8001", "--model=resnet", "--rpc", "live", "--mode=constant",
            "--sweep", "20, 50,100", "--duration", "2.5", "--warmup=0", "--slo-ms", "25", "--batch", "8",
            "--csv", "out.csv", "--json=out.json", "--label", "adaptive", "--seed", "-7", "--connections", "4",
            "--timeout-ms", "500", "--server-metrics", "http://127.0.0.1:9002/metrics",
        ]);
        Assert.Null(r.Error);
        var s = r.Settings!;
        Assert.Equal(new Uri("http://10.0.0.1:8001"), s.Target);
        Assert.Equal("resnet", s.Model);
        Assert.Equal(RpcKind.Live, s.Rpc);
        Assert.Equal(LoadMode.Constant, s.Mode);
        Assert.Equal([20.0, 50.0, 100.0], s.Steps);
        Assert.Equal(TimeSpan.FromSeconds(2.5), s.Duration);
        Assert.Equal(TimeSpan.Zero, s.Warmup);
        Assert.Equal(TimeSpan.FromMilliseconds(25), s.Slo);
        Assert.Equal(8, s.Batch);
        Assert.Equal("out.csv", s.CsvPath);
        Assert.Equal("out.json", s.JsonPath);
        Assert.Equal("adaptive", s.Label);
        Assert.Equal(-7, s.Seed);
        Assert.Equal(4, s.Connections);
        Assert.Equal(TimeSpan.FromMilliseconds(500), s.Timeout);
        Assert.Equal(new Uri("http://127.0.0.1:9002/metrics"), s.ServerMetrics);
    }

    [Fact]
    public void Closed_mode_takes_a_concurrency_or_a_sweep_of_them()
    {
        Assert.Equal([4.0], BenchArguments.Parse(["--mode", "closed", "--concurrency", "4"]).Settings!.Steps);
        Assert.Equal([1.0, 2.0, 8.0], BenchArguments.Parse(["--mode", "closed", "--sweep", "1,2,8"]).Settings!.Steps);
        Assert.Equal([1.0], BenchArguments.Parse(["--mode", "closed"]).Settings!.Steps);
        Assert.Equal([250.0], BenchArguments.Parse(["--rate", "250"]).Settings!.Steps);
    }

    [Theory]
    [InlineData("--bogus", new[] { "--bogus", "1" })]
    [InlineData("--bogus", new[] { "--bogus=1" })]
    [InlineData("'extra'", new[] { "extra" })]
    [InlineData("'-r'", new[] { "-r", "5" })]
    [InlineData("--rate", new[] { "--rate" })]
    [InlineData("--rate", new[] { "--rate", "fast" })]
    [InlineData("--rate", new[] { "--rate", "-5" })]
    [InlineData("--rate", new[] { "--rate", "0" })]
    [InlineData("--rate", new[] { "--rate", "NaN" })]
    [InlineData("--rate", new[] { "--rate", "5000000" })]
    [InlineData("--concurrency", new[] { "--mode", "closed", "--concurrency", "0" })]
    [InlineData("--concurrency", new[] { "--mode", "closed", "--concurrency", "2.5" })]
    [InlineData("--sweep", new[] { "--sweep", "10,x,30" })]
    [InlineData("--sweep", new[] { "--sweep", "10,,30" })]
    [InlineData("--sweep", new[] { "--sweep", "10,-1" })]
    [InlineData("--sweep", new[] { "--mode", "closed", "--sweep", "1,2.5" })]
    [InlineData("--sweep", new[] { "--sweep", "10", "--rate", "5" })]
    [InlineData("--mode", new[] { "--mode", "burst" })]
    [InlineData("--rpc", new[] { "--rpc", "stream" })]
    [InlineData("--target", new[] { "--target", "ftp://host:21" })]
    [InlineData("--target", new[] { "--target", "localhost:9001" })]
    [InlineData("--model", new[] { "--model", "" })]
    [InlineData("--duration", new[] { "--duration", "0" })]
    [InlineData("--duration", new[] { "--duration", "5s" })]
    [InlineData("--warmup", new[] { "--warmup", "-1" })]
    [InlineData("--warmup", new[] { "--warmup", "soon" })]
    [InlineData("--slo-ms", new[] { "--slo-ms", "0" })]
    [InlineData("--batch", new[] { "--batch", "0" })]
    [InlineData("--batch", new[] { "--batch", "1.5" })]
    [InlineData("--csv", new[] { "--csv", "" })]
    [InlineData("--json", new[] { "--json=" })]
    [InlineData("--label", new[] { "--label", "a\nb" })]
    [InlineData("--seed", new[] { "--seed", "abc" })]
    [InlineData("--connections", new[] { "--connections", "0" })]
    [InlineData("--server-metrics", new[] { "--server-metrics", "127.0.0.1:9002" })]
    [InlineData("--timeout-ms", new[] { "--timeout-ms", "-1" })]
    [InlineData("--timeout-ms", new[] { "--timeout-ms", "1e300" })] // more than a day: refused, not an overflow
    [InlineData("--rate", new[] { "--mode", "closed", "--rate", "100" })]
    [InlineData("--concurrency", new[] { "--mode", "poisson", "--concurrency", "4" })]
    public void A_bad_command_line_is_refused_naming_the_option(string named, string[] args)
    {
        var r = BenchArguments.Parse(args);
        Assert.Null(r.Settings);
        Assert.False(r.HelpRequested);
        Assert.NotNull(r.Error);
        Assert.Contains(named, r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_wins_over_everything_else()
    {
        var r = BenchArguments.Parse(["--rate", "oops", "--help"]);
        Assert.True(r.HelpRequested);
        Assert.Null(r.Error);
    }

    [Fact]
    public async Task The_command_prints_usage_for_help_and_exits_zero()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(["--help"], stdout, stderr, CancellationToken.None);
        Assert.Equal(0, rc);
        Assert.Contains("Usage: dataplane bench", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("--slo-ms", stdout.ToString(), StringComparison.Ordinal);
        Assert.Empty(stderr.ToString());
    }

    [Fact]
    public async Task The_command_names_a_bad_option_on_stderr_and_exits_two()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(["--rate", "10", "--frobnicate", "3"], stdout, stderr, CancellationToken.None);
        Assert.Equal(2, rc);
        Assert.Contains("--frobnicate", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(stdout.ToString());
    }

    [Fact]
    public async Task A_csv_file_with_other_columns_is_refused_before_any_load()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "a,b\n1,2\n");
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            int rc = await BenchCommand.RunAsync(["--target", "http://127.0.0.1:1", "--csv", path], stdout, stderr, CancellationToken.None);
            Assert.Equal(1, rc);
            Assert.Contains("--csv", stderr.ToString(), StringComparison.Ordinal);
            Assert.Equal("a,b\n1,2\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
