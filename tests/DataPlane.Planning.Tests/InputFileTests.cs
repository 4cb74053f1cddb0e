using System.Text;
using DataPlane.Planning.Inputs;

namespace DataPlane.Planning.Tests;

/// <summary>The input file: its schema round trips, and every mistake is one line naming the member or value.</summary>
public class InputFileTests
{
    private static string Parse(string json) =>
        Assert.Throws<PlanInputException>(() => PlanInputFile.Parse(Encoding.UTF8.GetBytes(json), "input f.json")).Message;

    [Fact]
    public void The_figures_round_trip_through_the_file()
    {
        var input = PlannerTests.DesignExample() with { Source = "test", Notes = ["a note"] };
        var back = PlanInputFile.Parse(Encoding.UTF8.GetBytes(PlanInputFile.Serialize(input)), "input");

        Assert.Equal(input.PeakRequestsPerSecond, back.PeakRequestsPerSecond);
        Assert.Equal(input.LocalHitRate, back.LocalHitRate);
        Assert.Equal(input.SloMs, back.SloMs);
        Assert.Equal(input.Models[0], back.Models[0]);
        Assert.Equal(["a note"], back.Notes!);
    }

    [Fact]
    public void The_documented_example_parses()
    {
        var input = PlanInputFile.Parse("""
            {
              "peakRequestsPerSecond": 1000,
              "localHitRate": 0.7,
              "sloMs": 1000,
              "models": [
                { "name": "llm", "escalationShare": 1, "latencyBaseSeconds": 0.18, "latencyPerRowSeconds": 0.02,
                  "maxBatchRows": 8, "rowsPerRequest": 1, "instances": 8, "hosts": 1 }
              ]
            }
            """u8, "input");

        Assert.Equal(0.18, input.Models[0].LatencyBaseSeconds);
        Assert.Equal(8, input.Models[0].MaxBatchRows);
    }

    [Fact]
    public void Mistakes_name_the_member_or_value()
    {
        Assert.Contains("peakRps", Parse("""{"peakRps": 3, "models": []}"""), StringComparison.Ordinal);
        Assert.Contains("localHitRate 1.5 is not a share between 0 and 1",
            Parse("""{"localHitRate": 1.5, "models": [{"name": "m", "latencyBaseSeconds": 0.1}]}"""), StringComparison.Ordinal);
        Assert.Contains("no models", Parse("""{"peakRequestsPerSecond": 3}"""), StringComparison.Ordinal);
        Assert.Contains("model 'm': rowsPerRequest 9 is not from 1 to maxBatchRows (8)",
            Parse("""{"models": [{"name": "m", "latencyBaseSeconds": 0.1, "maxBatchRows": 8, "rowsPerRequest": 9}]}"""), StringComparison.Ordinal);
        Assert.Contains("model 'm' is listed twice",
            Parse("""{"models": [{"name": "m", "latencyBaseSeconds": 0.1}, {"name": "m", "latencyBaseSeconds": 0.1}]}"""), StringComparison.Ordinal);
        Assert.Contains("both 0", Parse("""{"models": [{"name": "m"}]}"""), StringComparison.Ordinal);
        Assert.StartsWith("input f.json: ", Parse("""{"models": "#"""), StringComparison.Ordinal);
        Assert.Contains("null", Parse("null"), StringComparison.Ordinal);
        Assert.DoesNotContain("\n", Parse("""{"peakRequestsPerSecond": "many", "models": []}"""), StringComparison.Ordinal);
    }

    [Fact]
    public void Durations_read_as_prometheus_writes_them()
    {
        Assert.Equal(TimeSpan.FromHours(1), PrometheusFigures.ParseDuration("1h"));
        Assert.Equal(TimeSpan.FromSeconds(90), PrometheusFigures.ParseDuration("90s"));
        Assert.Equal(TimeSpan.FromDays(7), PrometheusFigures.ParseDuration("7d"));
        Assert.Null(PrometheusFigures.ParseDuration("1y"));
        Assert.Null(PrometheusFigures.ParseDuration("h"));
        Assert.Null(PrometheusFigures.ParseDuration("0s"));
        Assert.Equal("3600s", PrometheusFigures.Duration(TimeSpan.FromHours(1)));
    }
}
