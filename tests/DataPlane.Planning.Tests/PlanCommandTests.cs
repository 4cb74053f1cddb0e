using System.Text.Json;
using DataPlane.Host.Cli;

namespace DataPlane.Planning.Tests;

/// <summary>The <c>dataplane plan</c> command line, in-process.</summary>
public sealed class PlanCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await PlanCommand.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string DesignFile()
    {
        string path = Path.Combine(_dir, "figures.json");
        File.WriteAllText(path, DataPlane.Planning.Inputs.PlanInputFile.Serialize(PlannerTests.DesignExample()));
        return path;
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--headroom", "lots")]
    [InlineData("--window", "1y", "--input", "x.json")]
    [InlineData("--prometheus", "ftp://example")]
    [InlineData("--input", "a.json", "--prometheus", "http://127.0.0.1:9")]
    [InlineData("--slo-ms")]
    [InlineData()]
    public async Task Bad_usage_exits_2_with_one_line(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.StartsWith("dataplane plan: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Help_prints_the_switches()
    {
        var (code, stdout, _) = await RunAsync("--help");

        Assert.Equal(0, code);
        foreach (string s in new[] { "--prometheus", "--input", "--window", "--slo-ms", "--headroom", "--instances-per-host", "--json" })
        {
            Assert.Contains(s, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_file_plans_as_a_table_and_as_json()
    {
        string file = DesignFile();
        var (code, table, err) = await RunAsync("--input", file);
        Assert.True(code == 0, err);
        Assert.Contains("Capacity plan: peak 1000.0 requests/s, local hit rate 70.0 %, headroom 30 %", table, StringComparison.Ordinal);
        Assert.Matches(@"\nmeasured +70\.0 llm +300\.0 +390\.0 +180\.00 +20\.000 +8 +1000 +8 +17 +17 ", table);
        Assert.Contains("-10 points", table, StringComparison.Ordinal);
        Assert.Contains("+10 points", table, StringComparison.Ordinal);

        (code, string json, err) = await RunAsync("--input", file, "--json", "--headroom", "0%", "--instances-per-host", "4");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(json);
        var model = doc.RootElement.GetProperty("scenarios")[0].GetProperty("models")[0];
        Assert.Equal(300, model.GetProperty("plannedRequestsPerSecond").GetDouble(), 6);
        Assert.Equal(4, model.GetProperty("instancesPerHost").GetInt32());
        int instances = model.GetProperty("instances").GetInt32();
        Assert.Equal((instances + 3) / 4, model.GetProperty("hosts").GetInt32());
    }

    [Fact]
    public async Task Figures_that_cannot_be_planned_or_read_exit_1_with_one_line()
    {
        var (code, _, err) = await RunAsync("--input", DesignFile(), "--slo-ms", "100");
        Assert.Equal(1, code);
        Assert.Equal("dataplane plan: model 'llm': the objective 100 ms is not above one request's own latency, a + b·rows + window = 180 + 20·1 + 5 = 205 ms: "
            + "no number of instances holds it\n", err.ReplaceLineEndings("\n"));

        (code, _, err) = await RunAsync("--input", Path.Combine(_dir, "missing.json"));
        Assert.Equal(1, code);
        Assert.Contains("no such file", err, StringComparison.Ordinal);

        // Nothing listens on this port: refused at once, named, no stack trace.
        (code, _, err) = await RunAsync("--prometheus", $"http://127.0.0.1:{FreePorts.Next()}");
        Assert.Equal(1, code);
        Assert.StartsWith("dataplane plan: prometheus http://127.0.0.1:", err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }
}
