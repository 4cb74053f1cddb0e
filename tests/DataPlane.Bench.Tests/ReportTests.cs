using Grpc.Core;

namespace DataPlane.Bench.Tests;

public class ReportTests
{
    private static readonly BenchSettings s_settings = new() { Label = "fixed", Duration = TimeSpan.FromSeconds(2), Slo = TimeSpan.FromMilliseconds(10) };

    private static LoadRunner.Sample Ok(double ms, double endS) => new((long)(ms * 1e6), (long)(endS * 1e9), StatusCode.OK);

    private static LoadRunner.Sample Failed(StatusCode code) => new(1000, 1000, code);

    [Fact]
    public void Summary_counts_errors_by_status_and_slo_attainment_over_all_requests()
    {
        LoadRunner.Sample[] samples =
        [
            Ok(5, 0.5), Ok(8, 1.0), Ok(20, 1.5), Ok(2, 1.9),
            Failed(StatusCode.Unavailable), Failed(StatusCode.Unavailable), Failed(StatusCode.DeadlineExceeded), Failed(StatusCode.ResourceExhausted),
        ];
        var r = LoadRunner.Summarize(s_settings, 100, samples, windowStart: 0, lateSends: 3, maxLagNs: 2_500_000);
        Assert.Equal(8, r.Sent);
        Assert.Equal(4, r.Ok);
        Assert.Equal(4, r.Errors);
        Assert.Equal(2, r.ErrorsByStatus["UNAVAILABLE"]);
        Assert.Equal(1, r.ErrorsByStatus["DEADLINE_EXCEEDED"]);
        Assert.Equal(1, r.ErrorsByStatus["RESOURCE_EXHAUSTED"]);
        Assert.False(r.ErrorsByStatus.ContainsKey("OK"));
        Assert.Equal(37.5, r.SloAttainmentPct, 6); // 3 of 8 within 10 ms
        Assert.Equal(5, r.P50Ms!.Value, 6);
        Assert.Equal(20, r.P99Ms!.Value, 6);
        Assert.Equal(20, r.MaxMs!.Value, 6);
        Assert.Equal(8.75, r.MeanMs!.Value, 6);
        Assert.Equal(2.0, r.MeasuredSeconds, 6);
        Assert.Equal(2.0, r.ThroughputRps, 6);
        Assert.Equal(3, r.LateSends);
        Assert.Equal(2.5, r.MaxSendLagMs, 6);
        Assert.Equal("fixed", r.Label);
        Assert.Equal(100, r.Offered);
    }

    [Fact]
    public void A_server_that_falls_behind_stretches_the_measured_time()
    {
        // 100 successes, the last 4 s after the 2 s window began: the server managed 25/s.
        var samples = Enumerable.Range(1, 100).Select(i => Ok(1, i * 0.04)).ToArray();
        var r = LoadRunner.Summarize(s_settings, 50, samples, windowStart: 0, 0, 0);
        Assert.Equal(4.0, r.MeasuredSeconds, 6);
        Assert.Equal(25.0, r.ThroughputRps, 6);
    }

    [Fact]
    public void Failed_requests_report_how_fast_they_came_back()
    {
        var samples = new[] { Ok(10, 0.1), new LoadRunner.Sample(300_000, 100_000_000, StatusCode.ResourceExhausted),
            new LoadRunner.Sample(500_000, 100_000_000, StatusCode.ResourceExhausted), new LoadRunner.Sample(900_000, 100_000_000, StatusCode.ResourceExhausted) };
        var r = LoadRunner.Summarize(s_settings, 50, samples, 0, 0, 0);
        Assert.Equal(0.5, r.ErrorP50Ms);
        Assert.Equal(0.9, r.ErrorP99Ms);
        Assert.EndsWith(",0.500,0.900,,", CsvReport.FormatRow(r), StringComparison.Ordinal);
        Assert.Contains("RESOURCE_EXHAUSTED=3 (p50 0.500 ms, p99 0.900 ms)", TableReport.Row(r, 5), StringComparison.Ordinal);
        Assert.Null(LoadRunner.Summarize(s_settings, 50, [Ok(10, 0.1)], 0, 0, 0).ErrorP50Ms);
    }

    [Fact]
    public void A_step_where_everything_failed_still_summarises()
    {
        var r = LoadRunner.Summarize(s_settings, 50, [Failed(StatusCode.Unavailable)], 0, 0, 0);
        Assert.Equal(0, r.Ok);
        Assert.Null(r.P50Ms);
        Assert.Null(r.MeanMs);
        Assert.Equal(0, r.ThroughputRps);
        Assert.Equal(0, r.SloAttainmentPct);
        string row = CsvReport.FormatRow(r);
        Assert.Equal(CsvReport.Columns.Count, row.Split(',').Length);
        Assert.Contains("UNAVAILABLE=1", row, StringComparison.Ordinal);
        Assert.Contains("-", TableReport.Row(r, 5), StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_quotes_fields_with_commas_and_writes_the_header_once()
    {
        var r = LoadRunner.Summarize(s_settings with { Label = "a,\"b\"" }, 10, [Ok(1, 0.1)], 0, 0, 0);
        Assert.StartsWith("\"a,\"\"b\"\"\",", CsvReport.FormatRow(r), StringComparison.Ordinal);
        string path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.csv");
        try
        {
            Assert.Null(CsvReport.CheckAppendable(path));
            CsvReport.Append(path, [r]);
            CsvReport.Append(path, [r, r]);
            string[] lines = File.ReadAllLines(path);
            Assert.Equal(4, lines.Length);
            Assert.Equal(CsvReport.Header, lines[0]);
            Assert.Null(CsvReport.CheckAppendable(path));
            File.WriteAllText(path, "x,y\n1,2\n");
            Assert.NotNull(CsvReport.CheckAppendable(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Json_round_trips_with_snake_case_names_and_lower_case_enums()
    {
        var r = LoadRunner.Summarize(s_settings, 10, [Ok(1, 0.1), Failed(StatusCode.Unavailable)], 0, 0, 0);
        var run = new BenchRun { StartedUtc = DateTimeOffset.UnixEpoch, Arguments = ["--rate", "10"], Steps = [r] };
        string line = JsonReport.Format(run);
        Assert.DoesNotContain('\n', line);
        Assert.Contains("\"p50_ms\":1", line, StringComparison.Ordinal);
        Assert.Contains("\"mode\":\"poisson\"", line, StringComparison.Ordinal);
        Assert.Contains("\"errors_by_status\":{\"UNAVAILABLE\":1}", line, StringComparison.Ordinal);
        var back = JsonReport.Parse(line)!;
        Assert.Equal(r.Ok, back.Steps[0].Ok);
        Assert.Equal(r.P50Ms, back.Steps[0].P50Ms);
        Assert.Equal(LoadMode.Poisson, back.Steps[0].Mode);
        Assert.Equal(1, back.Steps[0].ErrorsByStatus["UNAVAILABLE"]);
    }
}
