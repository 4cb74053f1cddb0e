using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace DataPlane.Ops.Tests.Prometheus;

/// <summary>The Prometheus side of operations, with the real tools: promtool on the shipped configuration, rules,
/// rule tests and dashboard; promtool's linter on both binaries' /metrics; and a real Prometheus server scraping
/// a running daemon and agent on loopback.</summary>
public class PrometheusTests
{
    private const string Promtool = "/usr/bin/promtool";
    private const string PrometheusServer = "/usr/bin/prometheus";

    [Fact]
    public async Task Check_script_passes_config_rules_rule_tests_and_dashboard()
    {
        var (code, output) = await RunAsync("/bin/bash", null, Path.Combine(RepoFiles.Root, "scripts/prometheus/check.sh"));
        Assert.True(code == 0, $"scripts/prometheus/check.sh exited {code}:\n{output}");
        Assert.Contains("dashboard: 13 panels", output);
    }

    [Fact]
    public async Task Check_script_fails_on_a_rule_test_that_does_not_hold()
    {
        // promtool test rules must be able to fail: a test expecting the queue alert on a quiet queue.
        string dir = Directory.CreateTempSubdirectory("dataplane-promtool-").FullName;
        try
        {
            string rules = Path.Combine(RepoFiles.Root, "scripts/prometheus/rules/dataplane.rules.yml");
            string test = Path.Combine(dir, "wrong.test.yml");
            await File.WriteAllTextAsync(test, $$"""
                rule_files: ['{{rules}}']
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: 'dataplane_queue_depth{job="dataplane",instance="gpu-01",model="simple"}'
                        values: '3+0x10'
                      - series: 'dataplane_queue_limit{job="dataplane",instance="gpu-01",model="simple"}'
                        values: '1024+0x10'
                    alert_rule_test:
                      - eval_time: 5m
                        alertname: DataplaneQueueNearlyFull
                        exp_alerts:
                          - exp_labels: {severity: warning, job: dataplane, instance: gpu-01, model: simple}
                """);
            var (code, output) = await RunAsync(Promtool, null, "test", "rules", test);
            Assert.NotEqual(0, code);
            Assert.Contains("DataplaneQueueNearlyFull", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Prometheus_scrapes_daemon_and_agent_and_promtool_accepts_their_metrics()
    {
        int grpc = Binaries.FreePort(), daemonAdmin = Binaries.FreePort(), api = Binaries.FreePort(), agentAdmin = Binaries.FreePort();
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{daemonAdmin}", "--http", "127.0.0.1:0");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{daemonAdmin}/readyz", TimeSpan.FromSeconds(30));
        using var agent = new ChildProcess(Binaries.Agent, "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{agentAdmin}",
            "--gpu", $"127.0.0.1:{grpc}");
        await agent.WaitForHttpAsync($"http://127.0.0.1:{api}/readyz", TimeSpan.FromSeconds(30));

        // Samples in the histograms: a short load on the daemon, and agent requests answered locally and by the GPU.
        using (var bench = new ChildProcess(Binaries.Dataplane, "bench", "--target", $"http://127.0.0.1:{grpc}", "--model", "simple",
            "--rate", "50", "--duration", "1", "--warmup", "0"))
        {
            Assert.Equal(0, await bench.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (string mode in new[] { "local", "gpu", "auto" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{api}/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"local-small","messages":[{"role":"user","content":"hello"}],"max_tokens":2}""",
                    Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-DataPlane-Mode", mode);
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"agent answered {(int)response.StatusCode} in mode {mode}:\n{agent.Output}");
        }

        // promtool's linter on both expositions (exit 0 = no problems).
        foreach (var (name, port) in new[] { ("dataplane", daemonAdmin), ("dataplane-agent", agentAdmin) })
        {
            string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            var (code, output) = await RunAsync(Promtool, text, "check", "metrics");
            Assert.True(code == 0, $"promtool check metrics on {name}'s /metrics exited {code}:\n{output}");
        }

        string dir = Directory.CreateTempSubdirectory("dataplane-prometheus-").FullName;
        try
        {
            int web = Binaries.FreePort();
            string config = Path.Combine(dir, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: dataplane
                    static_configs: [{"{"} targets: ['127.0.0.1:{daemonAdmin}'] {"}"}]
                  - job_name: dataplane-agent
                    static_configs: [{"{"} targets: ['127.0.0.1:{agentAdmin}'] {"}"}]
                """);
            using var prometheus = new ChildProcess(PrometheusServer, $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                $"--web.listen-address=127.0.0.1:{web}");
            await prometheus.WaitForHttpAsync($"http://127.0.0.1:{web}/-/ready", TimeSpan.FromSeconds(60));
            string baseUrl = $"http://127.0.0.1:{web}";

            await Eventually.SatisfiedAsync(async () =>
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/api/v1/targets?state=active"));
                var up = doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                    .Where(t => t.GetProperty("health").GetString() == "up")
                    .Select(t => t.GetProperty("labels").GetProperty("job").GetString())
                    .ToHashSet();
                return up.SetEquals(["dataplane", "dataplane-agent"]) ? null : $"targets up: [{string.Join(", ", up)}]";
            }, TimeSpan.FromSeconds(60), "both targets to be up", () => "prometheus output:\n" + prometheus.Output, TimeSpan.FromMilliseconds(250));

            string[] queries =
            [
                """dataplane_requests_total{job="dataplane",model="simple",outcome="ok"} > 0""",
                """dataplane_batch_size_count{job="dataplane",model="simple"} > 0""",
                """dataplane_upstream_up{job="dataplane"} == 1""",
                """dataplane_queue_limit{job="dataplane",model="simple"} > 0""",
                """dataplane_agent_decisions_total{job="dataplane-agent",route="local"} > 0""",
                """dataplane_agent_decisions_total{job="dataplane-agent",route="escalate"} > 0""",
                """dataplane_agent_requests_total{job="dataplane-agent",path="local",outcome="ok"} > 0""",
                """dataplane_agent_requests_total{job="dataplane-agent",path="gpu",outcome="ok"} > 0""",
                """dataplane_agent_hop_seconds_count{job="dataplane-agent"} > 0""",
                """process_start_time_seconds{job="dataplane"}""",
                """process_start_time_seconds{job="dataplane-agent"}""",
            ];
            foreach (string query in queries)
            {
                await Eventually.SatisfiedAsync(async () =>
                {
                    using var doc = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/api/v1/query?query={Uri.EscapeDataString(query)}"));
                    Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
                    int n = doc.RootElement.GetProperty("data").GetProperty("result").GetArrayLength();
                    return n > 0 ? null : $"no series for {query}";
                }, TimeSpan.FromSeconds(60), $"a series for {query}", () => "prometheus output:\n" + prometheus.Output, TimeSpan.FromMilliseconds(250));
            }

            prometheus.Terminate();
            Assert.Equal(0, await prometheus.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string? stdin, params string[] args)
    {
        Assert.True(File.Exists(file), $"{file} is missing: scripts/bootstrap.sh installs prometheus");
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin != null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(cts.Token);
        string output = await stdout + await stderr;
        return (process.ExitCode, output);
    }
}
