using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using DataPlane.Bench;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Planning.Inputs;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Planning.Tests;

/// <summary>The plan checked against the simulated pool: a calibration run of the daemon in front of the simulated
/// Triton, scraped by a real Prometheus (Debian's); the plan from what Prometheus holds; then the pool with the
/// recommended instance count, and with one fewer, driven at the planned rate by the bench engine.
/// The model costs 80 ms + 10 ms per row in batches of up to 8, so one instance serves at most 8 / 160 ms = 50
/// requests/s. At 65 requests/s one instance is 30 % overloaded (its queue grows by 15 requests a second) while
/// two are 65 % busy: the margin between "holds" and "fails" is wide. Every time and rate is four times the one a
/// faster model would need (20 ms + 2.5 ms per row at 260 requests/s plans the same way): the simulated model's
/// times are sleeps, unaffected by a busy machine, while the daemon, the simulator and the load generator, all in
/// this process, cost CPU per request — at 260 requests/s two busy loops on both cores starved them (70.8 % within
/// the objective at the planned count); at a quarter of the rate the CPU they need is a quarter.</summary>
public sealed partial class SimulatedPoolTests(ITestOutputHelper output)
{
    private const string PrometheusServer = "/usr/bin/prometheus";
    private const string Model = "planned";
    private const double PlannedRate = 65;
    private const double SloMs = 1600;

    [GeneratedRegex("^dataplane_requests_total\\{model=\"planned\",outcome=\"ok\"\\} ([0-9.e+]+)$", RegexOptions.Multiline)]
    private static partial Regex OkCount();

    [Fact]
    public async Task At_the_recommended_count_the_pool_holds_the_objective_and_with_one_fewer_it_does_not()
    {
        Assert.True(File.Exists(PrometheusServer), $"{PrometheusServer} is missing: scripts/bootstrap.sh installs prometheus");
        string dir = Directory.CreateTempSubdirectory("dataplane-plan-pool-").FullName;
        try
        {
            // 1. Calibration: two instances at 37.5 requests/s, batches of 1 to 5 rows, so the daemon fits a and b.
            string saved = Path.Combine(dir, "figures.json");
            await using (var pool = await Pool.StartAsync(instances: 2))
            {
                int web = FreePorts.Next();
                string config = Path.Combine(dir, "prometheus.yml");
                await File.WriteAllTextAsync(config, $$"""
                    global:
                      scrape_interval: 1s
                    scrape_configs:
                      - job_name: dataplane
                        static_configs: [{ targets: ['{{pool.Daemon.AdminAddress.Authority}}'] }]
                    """);
                using var prometheus = new ChildProcess(PrometheusServer, $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                    $"--web.listen-address=127.0.0.1:{web}");
                await prometheus.WaitForHttpAsync($"http://127.0.0.1:{web}/-/ready", TimeSpan.FromSeconds(60));
                string url = $"http://127.0.0.1:{web}";

                // Prometheus scrapes once its target discovery has run (a few seconds after it is ready): wait for the first scrape.
                await Eventually.SatisfiedAsync(async () =>
                {
                    using var http = new HttpClient();
                    using var doc = JsonDocument.Parse(await http.GetStringAsync($"{url}/api/v1/targets?state=active"));
                    var targets = doc.RootElement.GetProperty("data").GetProperty("activeTargets");
                    return targets.GetArrayLength() == 1 && targets[0].GetProperty("health").GetString() == "up" ? null : $"targets: {targets}";
                }, TimeSpan.FromSeconds(60), "the daemon's target to be up", () => "prometheus output:\n" + prometheus.Output, TimeSpan.FromMilliseconds(200));

                var calibration = await pool.DriveAsync(37.5, TimeSpan.FromSeconds(8));
                Assert.True(calibration.Errors == 0, $"calibration: {calibration.Errors} errors");

                // Prometheus has the whole run once its last scrape shows the daemon's final count.
                string final = OkCount().Match(await pool.MetricsAsync()).Groups[1].Value;
                await Eventually.SatisfiedAsync(async () =>
                {
                    using var http = new HttpClient();
                    using var doc = JsonDocument.Parse(await http.GetStringAsync(
                        $"{url}/api/v1/query?query={Uri.EscapeDataString($"dataplane_requests_total{{model=\"{Model}\",outcome=\"ok\"}}")}"));
                    var result = doc.RootElement.GetProperty("data").GetProperty("result");
                    return result.GetArrayLength() == 1 && result[0].GetProperty("value")[1].GetString() == final
                        ? null : $"prometheus has not scraped the final count {final} yet: {result}";
                }, TimeSpan.FromSeconds(60), "Prometheus to hold the final value", () => "prometheus output:\n" + prometheus.Output, TimeSpan.FromMilliseconds(200));

                var (code, _, err) = await PlanCommandTests.RunAsync("--prometheus", url, "--window", "2m", "--rate-interval", "5s",
                    "--save-input", saved, "--slo-ms", "1600", "--json");
                Assert.True(code == 0, $"plan from prometheus: {err}\n{prometheus.Output}");
                prometheus.Terminate();
                Assert.Equal(0, await prometheus.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            }

            // 2. The figures Prometheus gave: the daemon's fit, the instances, the largest batch and the peak rate.
            var figures = PlanInputFile.Read(saved);
            var m = Assert.Single(figures.Models);
            Assert.Equal(Model, m.Name);
            Assert.Equal(2, m.Instances);
            Assert.Equal(1, m.Hosts);
            Assert.Equal(8, m.MaxBatchRows);
            Assert.Equal(1, m.RowsPerRequest);
            Assert.Equal(1, m.EscalationShare);
            Assert.InRange(m.LatencyBaseSeconds, 0.072, 0.14);
            Assert.InRange(m.LatencyPerRowSeconds, 0.006, 0.025); // the fit of b scatters most on a busy machine (9.7–15.7 ms seen)
            Assert.Equal(0, figures.LocalHitRate);
            Assert.InRange(figures.PeakRequestsPerSecond, 27.5, 57.5);

            // 3. The plan for 65 requests/s from those figures.
            var (planCode, json, planErr) = await PlanCommandTests.RunAsync("--input", saved, "--peak-rps", "65", "--headroom", "0",
                "--slo-ms", "1600", "--json");
            Assert.True(planCode == 0, planErr);
            using var plan = JsonDocument.Parse(json);
            var row = plan.RootElement.GetProperty("scenarios")[0].GetProperty("models")[0];
            int recommended = row.GetProperty("instances").GetInt32();
            Assert.Equal(2, recommended);
            Assert.True(row.GetProperty("predictedP99Ms").GetDouble() <= SloMs);

            // 4. The simulated pool at the recommended count holds the objective at the planned rate ...
            StepResult held, missed;
            await using (var pool = await Pool.StartAsync(recommended))
            {
                held = await pool.DriveAsync(PlannedRate, TimeSpan.FromSeconds(10));
            }

            // ... and with one instance fewer it does not.
            await using (var pool = await Pool.StartAsync(recommended - 1))
            {
                missed = await pool.DriveAsync(PlannedRate, TimeSpan.FromSeconds(10));
            }

            string report = $"planned {recommended}: p99 {held.P99Ms:F1} ms, {held.SloAttainmentPct:F1} % within {SloMs} ms, {held.Errors} errors; "
                + $"{recommended - 1}: p99 {missed.P99Ms:F1} ms, {missed.SloAttainmentPct:F1} % within, {missed.Errors} errors";
            output.WriteLine($"figures: a {m.LatencyBaseSeconds * 1000:F2} ms, b {m.LatencyPerRowSeconds * 1000:F3} ms/row, peak {figures.PeakRequestsPerSecond:F1}/s; "
                + $"plan p99 {row.GetProperty("predictedP99Ms").GetDouble():F1} ms; {report}");
            // The plan's own objective is a p99; the attainment bound leaves room for a machine whose other work stalls
            // the simulated pool for a moment (98.1 % with two busy loops on both cores), far from the 0 % one fewer gets.
            Assert.True(held.SloAttainmentPct >= 95 && held.P99Ms <= SloMs, report);
            Assert.True(missed.SloAttainmentPct < 50, report);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The simulated Triton with the planned model at an instance count, and the daemon in front of it.</summary>
    private sealed class Pool : IAsyncDisposable
    {
        private Pool(SimulatorServer simulator, Daemon daemon)
        {
            Simulator = simulator;
            Daemon = daemon;
        }

        public SimulatorServer Simulator { get; }

        public Daemon Daemon { get; }

        public static async Task<Pool> StartAsync(int instances)
        {
            var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }).Build();
            var simulation = new SimulationOptions
            {
                Models =
                [
                    SimulatedModelOptions.SingleTensor(Model, TensorDataType.Fp32, 16) with
                    {
                        MaxBatchSize = 8,
                        Instances = instances,
                        BaseLatency = TimeSpan.FromMilliseconds(80),
                        PerItemLatency = TimeSpan.FromMilliseconds(10),
                    },
                ],
            };
            var simulator = await SimulatorServer.StartAsync(simulation, new IPEndPoint(IPAddress.Loopback, FreePorts.Next()), embedded: true, quiet);
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Upstream:Address"] = simulator.Address.ToString(),
                ["Upstream:HealthIntervalMs"] = "100",
                // Requests are answered or late, never cut by the 1 s queue-time bound during a start-up stall: the
                // objective here is measured, and the calibration must see every request.
                ["Batching:Defaults:MaxQueueTimeMs"] = "0",
                ["Listen:Grpc"] = "127.0.0.1:0",
                ["Listen:Admin"] = "127.0.0.1:0",
                ["Listen:Http"] = "127.0.0.1:0",
                ["Logging:LogLevel:Default"] = "Warning",
            }).Build();
            var daemon = await Daemon.StartAsync(DaemonConfiguration.Bind(configuration), configuration, Prometheus.Metrics.NewCustomRegistry());
            var pool = new Pool(simulator, daemon);
            using var http = new HttpClient { BaseAddress = daemon.AdminAddress };
            await Eventually.TrueAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(30),
                "the daemon to become ready");

            return pool;
        }

        public async Task<string> MetricsAsync()
        {
            using var http = new HttpClient { BaseAddress = Daemon.AdminAddress };
            return await http.GetStringAsync("/metrics");
        }

        /// <summary>Open-loop Poisson load at <paramref name="rate"/>, measured for <paramref name="duration"/> after 2 s.</summary>
        public Task<StepResult> DriveAsync(double rate, TimeSpan duration) => LoadRunner.RunStepAsync(new BenchSettings
        {
            Target = Daemon.GrpcAddress,
            Model = Model,
            Rate = rate,
            Duration = duration,
            Warmup = TimeSpan.FromSeconds(2),
            Slo = TimeSpan.FromMilliseconds(SloMs),
            Connections = 2,
        }, rate, CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            await Daemon.DisposeAsync();
            await Simulator.DisposeAsync();
        }
    }
}
