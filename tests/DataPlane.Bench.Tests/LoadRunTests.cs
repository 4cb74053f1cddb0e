using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace DataPlane.Bench.Tests;

/// <summary>Real gRPC over loopback against <see cref="ToyInferenceServer"/>. Rates and durations are
/// small; timing assertions are generous sanity bounds only.</summary>
public sealed class LoadRunTests : IAsyncLifetime
{
    private ToyInferenceServer _server = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bench-tests-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await ToyInferenceServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private BenchSettings Settings(string model = "toy") => new()
    {
        Target = _server.Address,
        Model = model,
        Duration = TimeSpan.FromSeconds(1),
        Warmup = TimeSpan.FromSeconds(0.2),
    };

    [Fact]
    public async Task An_open_loop_run_offers_its_rate_and_writes_csv_and_json_that_parse_back()
    {
        string csv = Path.Combine(_dir, "out.csv");
        string json = Path.Combine(_dir, "out.json");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(
            ["--target", _server.Address.ToString(), "--model", "toy", "--rate", "200", "--duration", "1", "--warmup", "0.2",
             "--batch", "3", "--label", "adaptive", "--csv", csv, "--json", json],
            stdout, stderr, CancellationToken.None);

        Assert.Equal(0, rc);
        Assert.Empty(stderr.ToString());
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(2, lines.Length);
        string[] header = lines[0].Split(',');
        Assert.Equal(
            ["label", "target", "model", "rpc", "mode", "offered", "batch", "measured_s", "sent", "ok", "errors", "error_codes",
             "throughput_rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "slo_ms", "slo_attainment_pct", "late_sends",
             "max_send_lag_ms", "error_p50_ms", "error_p99_ms", "server_cpu_us_per_req", "server_alloc_bytes_per_req"],
            header);
        var row = header.Zip(lines[1].Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("adaptive", row["label"]);
        Assert.Equal("poisson", row["mode"]);
        Assert.Equal("infer", row["rpc"]);
        Assert.Equal("200", row["offered"]);
        Assert.Equal("3", row["batch"]);
        long ok = long.Parse(row["ok"], CultureInfo.InvariantCulture);
        Assert.InRange(ok, 120, 280);
        Assert.Equal("0", row["errors"]);
        Assert.Equal("", row["error_codes"]);
        double throughput = double.Parse(row["throughput_rps"], CultureInfo.InvariantCulture);
        Assert.InRange(throughput, 100, 300);
        double p50 = double.Parse(row["p50_ms"], CultureInfo.InvariantCulture);
        double p99 = double.Parse(row["p99_ms"], CultureInfo.InvariantCulture);
        Assert.InRange(p50, 0.001, 1000);
        Assert.True(p99 >= p50);
        Assert.InRange(double.Parse(row["slo_attainment_pct"], CultureInfo.InvariantCulture), 0, 100);

        // The server saw well-formed requests of the asked batch size.
        Assert.True(_server.Service.SeenShapes.ContainsKey("INPUT0[3,16]"));
        Assert.True(_server.Service.SeenShapes.ContainsKey("INPUT1[3,2]"));
        Assert.True(_server.Service.Infers >= ok);

        string[] jsonLines = File.ReadAllLines(json);
        Assert.Single(jsonLines);
        using var doc = JsonDocument.Parse(jsonLines[0]);
        var step = Assert.Single(doc.RootElement.GetProperty("steps").EnumerateArray());
        Assert.Equal(ok, step.GetProperty("ok").GetInt64());
        Assert.Equal("adaptive", step.GetProperty("label").GetString());
        Assert.Equal("poisson", step.GetProperty("mode").GetString());
        // The CSV rounds to 0.001 ms, the JSON does not.
        Assert.Equal(p50, step.GetProperty("p50_ms").GetDouble(), tolerance: 0.0005 + 1e-9);
        Assert.Equal("200", doc.RootElement.GetProperty("arguments")[5].GetString());

        string table = stdout.ToString();
        Assert.Contains("adaptive", table, StringComparison.Ordinal);
        Assert.Contains("p99 ms", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_run_appends_to_the_same_files()
    {
        string csv = Path.Combine(_dir, "both.csv");
        string json = Path.Combine(_dir, "both.json");
        foreach (string label in new[] { "none", "fixed" })
        {
            int rc = await BenchCommand.RunAsync(
                ["--target", _server.Address.ToString(), "--model", "toy", "--sweep", "50,100", "--duration", "0.3", "--warmup", "0",
                 "--label", label, "--csv", csv, "--json", json],
                TextWriter.Null, TextWriter.Null, CancellationToken.None);
            Assert.Equal(0, rc);
        }

        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(5, lines.Length);
        Assert.Equal(CsvReport.Header, lines[0]);
        Assert.Equal(["none", "none", "fixed", "fixed"], lines.Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal(["50", "100", "50", "100"], lines.Skip(1).Select(l => l.Split(',')[5]));
        string[] runs = File.ReadAllLines(json);
        Assert.Equal(2, runs.Length);
        Assert.All(runs, r => Assert.Equal(2, JsonReport.Parse(r)!.Steps.Count));
    }

    [Fact]
    public async Task With_server_metrics_a_step_reports_the_servers_cpu_and_allocations_per_request()
    {
        var settings = Settings() with { Mode = LoadMode.Closed, ServerMetrics = _server.MetricsAddress };
        using var session = new LoadSession(settings);
        Assert.Null(await session.PrepareAsync(CancellationToken.None));
        var r = await LoadRunner.RunStepAsync(session, 2, CancellationToken.None);

        Assert.True(r.Ok > 10, $"ok {r.Ok}");
        Assert.Null(session.Server!.LastError);
        // The toy server shares this process, so its counters also hold the client's cost: both are positive.
        Assert.True(r.ServerCpuUsPerRequest > 0, $"cpu {r.ServerCpuUsPerRequest}");
        Assert.True(r.ServerAllocBytesPerRequest > 0, $"alloc {r.ServerAllocBytesPerRequest}");
        var row = CsvReport.Columns.Zip(CsvReport.FormatRow(r).Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.NotEqual("", row["server_cpu_us_per_req"]);
        Assert.NotEqual("", row["server_alloc_bytes_per_req"]);

        var without = await LoadRunner.RunStepAsync(Settings() with { Mode = LoadMode.Closed, Duration = TimeSpan.FromSeconds(0.3) }, 1, CancellationToken.None);
        Assert.Null(without.ServerCpuUsPerRequest);
        Assert.Null(without.ServerAllocBytesPerRequest);
    }

    [Fact]
    public async Task An_unreadable_server_metrics_endpoint_leaves_the_figures_empty_with_a_warning()
    {
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string csv = Path.Combine(_dir, "no-metrics.csv");
        int rc = await BenchCommand.RunAsync(
            ["--target", _server.Address.ToString(), "--model", "toy", "--rate", "50", "--duration", "0.3", "--warmup", "0",
             "--server-metrics", $"http://127.0.0.1:{port}/metrics", "--csv", csv],
            stdout, stderr, CancellationToken.None);

        Assert.Equal(0, rc);
        Assert.Contains("warning: --server-metrics: cannot read", stderr.ToString(), StringComparison.Ordinal);
        var row = CsvReport.Columns.Zip(File.ReadAllLines(csv)[1].Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("", row["server_cpu_us_per_req"]);
        Assert.NotEqual("0", row["ok"]);
    }

    [Fact]
    public async Task A_closed_loop_run_keeps_its_workers_busy()
    {
        var r = await LoadRunner.RunStepAsync(Settings() with { Mode = LoadMode.Closed }, 2, CancellationToken.None);
        Assert.Equal(LoadMode.Closed, r.Mode);
        Assert.Equal(2, r.Offered);
        Assert.True(r.Ok > 10, $"ok {r.Ok}");
        Assert.Equal(0, r.Errors);
        Assert.Equal(0, r.LateSends);
        Assert.Equal(r.Ok / r.MeasuredSeconds, r.ThroughputRps, 6);
        Assert.InRange(r.MeasuredSeconds, 1.0, 3.0);
        Assert.NotNull(r.P99Ms);
        Assert.True(_server.Service.SeenShapes.ContainsKey("INPUT0[1,16]"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => LoadRunner.RunStepAsync(Settings() with { Mode = LoadMode.Closed }, 2.5, CancellationToken.None));
    }

    [Fact]
    public async Task A_closed_port_yields_unavailable_errors_a_row_and_exit_code_zero()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        string csv = Path.Combine(_dir, "down.csv");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(
            ["--target", $"http://127.0.0.1:{port}", "--rate", "50", "--duration", "0.5", "--warmup", "0", "--label", "down",
             "--timeout-ms", "2000", "--csv", csv],
            stdout, stderr, CancellationToken.None);

        Assert.Equal(0, rc);
        Assert.Contains("UNAVAILABLE", stderr.ToString(), StringComparison.Ordinal); // the metadata warning
        string row = Assert.Single(stdout.ToString().Split('\n'), l => l.StartsWith("down", StringComparison.Ordinal));
        Assert.Contains("UNAVAILABLE=", row, StringComparison.Ordinal);
        string[] lines = File.ReadAllLines(csv);
        var fields = CsvReport.Columns.Zip(lines[1].Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("0", fields["ok"]);
        Assert.True(long.Parse(fields["errors"], CultureInfo.InvariantCulture) > 5);
        Assert.StartsWith("UNAVAILABLE=", fields["error_codes"], StringComparison.Ordinal);
        Assert.Equal(fields["errors"], fields["error_codes"]["UNAVAILABLE=".Length..]);
        Assert.Equal("", fields["p50_ms"]);
    }

    [Fact]
    public async Task Live_rpc_measures_bare_round_trips()
    {
        long infersBefore = _server.Service.Infers;
        var r = await LoadRunner.RunStepAsync(Settings("no-such-model") with { Rpc = RpcKind.Live, Mode = LoadMode.Constant }, 100, CancellationToken.None);
        Assert.Equal(RpcKind.Live, r.Rpc);
        Assert.InRange(r.Ok, 60, 140);
        Assert.Equal(0, r.Errors);
        Assert.True(_server.Service.Lives >= r.Ok);
        Assert.Equal(infersBefore, _server.Service.Infers);
        Assert.NotNull(r.P50Ms);
    }

    [Fact]
    public async Task Refusals_are_counted_under_their_status()
    {
        var r = await LoadRunner.RunStepAsync(Settings("busy") with { Duration = TimeSpan.FromSeconds(0.5) }, 100, CancellationToken.None);
        Assert.Equal(0, r.Ok);
        Assert.True(r.Sent > 10);
        Assert.Equal(r.Sent, r.ErrorsByStatus["RESOURCE_EXHAUSTED"]);
        Assert.Equal(0, r.SloAttainmentPct);
    }

    [Fact]
    public async Task A_model_without_batching_gets_its_own_dims()
    {
        var r = await LoadRunner.RunStepAsync(Settings("fixed") with { Batch = 4, Duration = TimeSpan.FromSeconds(0.3) }, 50, CancellationToken.None);
        Assert.Equal(0, r.Errors);
        Assert.True(r.Ok > 0);
        Assert.True(_server.Service.SeenShapes.ContainsKey("IN[2,1]"));
    }

    [Fact]
    public async Task A_model_the_bench_cannot_generate_inputs_for_fails_with_exit_code_one()
    {
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(
            ["--target", _server.Address.ToString(), "--model", "odd", "--duration", "0.2", "--warmup", "0"],
            TextWriter.Null, stderr, CancellationToken.None);
        Assert.Equal(1, rc);
        Assert.Contains("'FP8'", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, _server.Service.Infers);
    }

    [Fact]
    public async Task Cancelling_stops_the_run_with_exit_code_130()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        string json = Path.Combine(_dir, "cancelled.json");
        using var stderr = new StringWriter();
        int rc = await BenchCommand.RunAsync(
            ["--target", _server.Address.ToString(), "--model", "toy", "--sweep", "50,50", "--duration", "5", "--json", json],
            TextWriter.Null, stderr, cts.Token);
        Assert.Equal(130, rc);
        Assert.Contains("cancelled", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(JsonReport.Parse(File.ReadAllText(json))!.Steps);
    }
}
