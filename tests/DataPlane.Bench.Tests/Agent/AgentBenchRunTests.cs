using System.Globalization;
using System.Net;
using System.Text.Json;
using DataPlane.Edge.Api;
using DataPlane.Bench.Agent;
using DataPlane.Edge.Contract;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Edge.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using DataPlane.Hosting.Metrics;

namespace DataPlane.Bench.Tests.Agent;

/// <summary>Short real runs over HTTP. No timing upper bounds: only lower bounds the servers guarantee.</summary>
public sealed class AgentBenchRunTests
{
    private static Task<SimulatedLocalRuntimeServer> StartSimulationAsync() =>
        SimulatedLocalRuntimeServer.StartAsync(
            new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(20), TokensPerSecond = 200 },
            new IPEndPoint(IPAddress.Loopback, 0));

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        int exit = await AgentBenchCommand.RunAsync(args, stdout, stderr, timeout.Token);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Group(JsonElement phase, string name) =>
        phase.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("name").GetString() == name);

    [Fact]
    public async Task An_open_loop_run_against_the_simulated_runtime_as_target_and_direct_reports_path_unknown()
    {
        await using var sim = await StartSimulationAsync();
        using var folder = new TempFolder();
        string url = sim.Address.ToString();

        var (exit, stdout, stderr) = await RunAsync("--target", url, "--direct-url", url, "--rate", "40", "--duration", "1", "--warmup", "0.2",
            "--max-tokens", "4", "--json", folder.File("run.jsonl"), "--csv", folder.File("run.csv"), "--label", "sim");

        Assert.True(exit == 0, stderr);
        Assert.Contains("local hit rate n/a", stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllLines(folder.File("run.jsonl")).Single());
        var root = json.RootElement;
        var agent = root.GetProperty("agent");
        long requests = agent.GetProperty("requests").GetInt64();
        Assert.True(requests >= 5, $"only {requests} requests in a second at 40/s");
        Assert.Equal(requests, agent.GetProperty("ok").GetInt64());
        Assert.Equal(requests, agent.GetProperty("ok_by_path").GetProperty("unknown").GetInt64());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("local_hit_rate").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("escalation_rate").ValueKind);
        var all = Group(agent, "all");
        Assert.True(all.GetProperty("ttft_p50_ms").GetDouble() >= 20);
        Assert.True(all.GetProperty("total_p99_ms").GetDouble() >= all.GetProperty("ttft_p99_ms").GetDouble());
        var direct = root.GetProperty("direct");
        Assert.Equal(requests, direct.GetProperty("requests").GetInt64()); // the same schedule
        Assert.Equal(requests, direct.GetProperty("ok").GetInt64());
        Assert.True(Group(direct, "all").GetProperty("ttft_p50_ms").GetDouble() >= 20);
        var overhead = root.GetProperty("overhead");
        Assert.Equal(0, overhead.GetProperty("matched_requests").GetInt64());
        Assert.Equal(JsonValueKind.Null, overhead.GetProperty("overhead_p50_ms").ValueKind);
        Assert.True(overhead.GetProperty("direct_all_ttft_p50_ms").GetDouble() >= 20);

        string[] csv = File.ReadAllLines(folder.File("run.csv"));
        Assert.Equal(AgentBenchCsv.Header, csv[0]);
        Assert.Contains(csv, l => l.StartsWith("sim,agent,", StringComparison.Ordinal) && l.Contains(",unknown,", StringComparison.Ordinal));
        Assert.Contains(csv, l => l.StartsWith("sim,direct,", StringComparison.Ordinal) && l.Contains(",matched,", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_closed_loop_unstreamed_run_measures_whole_answers()
    {
        await using var sim = await StartSimulationAsync();
        using var folder = new TempFolder();

        // Two seconds: room for the first connections and a cold JIT on a busy machine; a warm run answers dozens.
        var (exit, stdout, stderr) = await RunAsync("--target", sim.Address.ToString(), "--concurrency", "2", "--duration", "2",
            "--warmup", "0", "--max-tokens", "3", "--stream", "false", "--json", folder.File("run.jsonl"));

        Assert.True(exit == 0, stderr);
        Assert.Contains("closed loop, 2 workers", stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(folder.File("run.jsonl")));
        var agent = json.RootElement.GetProperty("agent");
        Assert.True(agent.GetProperty("ok").GetInt64() >= 2);
        Assert.Equal(0, agent.GetProperty("errors").GetInt64());
        var all = Group(agent, "all");
        // Unstreamed: the content arrives with the whole answer, 20 ms + 2 tokens at 200/s later.
        Assert.True(all.GetProperty("ttft_p50_ms").GetDouble() >= 30);
        Assert.Equal("closed", json.RootElement.GetProperty("load").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Failures_are_counted_by_http_status_timeout_and_connection()
    {
        await using var unavailable = await FakeRuntimeServer.StatusAsync(503,
            "{\"error\":{\"message\":\"no side can answer\",\"type\":\"server_error\",\"param\":null,\"code\":\"service_unavailable\"}}");
        var (exit, stdout, stderr) = await RunAsync("--target", unavailable.Address.ToString(), "--rate", "30", "--duration", "0.5", "--warmup", "0");
        Assert.True(exit == 0, stderr);
        Assert.Contains("503=", stdout, StringComparison.Ordinal);
        Assert.Contains("no side can answer", stdout, StringComparison.Ordinal);

        await using var slow = await FakeRuntimeServer.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" a\"}}]}\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        });
        using var folder = new TempFolder();
        (exit, _, stderr) = await RunAsync("--target", slow.Address.ToString(), "--rate", "30", "--duration", "0.5", "--warmup", "0",
            "--timeout-ms", "200", "--json", folder.File("t.jsonl"));
        Assert.True(exit == 0, stderr);
        using (var json = JsonDocument.Parse(File.ReadAllText(folder.File("t.jsonl"))))
        {
            var agent = json.RootElement.GetProperty("agent");
            Assert.Equal(agent.GetProperty("requests").GetInt64(), agent.GetProperty("errors_by_status").GetProperty("timeout").GetInt64());
        }

        int port = FreePort();
        (exit, _, stderr) = await RunAsync("--target", $"http://127.0.0.1:{port}", "--rate", "30", "--duration", "0.5", "--warmup", "0",
            "--json", folder.File("c.jsonl"));
        Assert.True(exit == 0, stderr);
        using (var json = JsonDocument.Parse(File.ReadAllText(folder.File("c.jsonl"))))
        {
            var agent = json.RootElement.GetProperty("agent");
            Assert.Equal(agent.GetProperty("requests").GetInt64(), agent.GetProperty("errors_by_status").GetProperty("connection").GetInt64());
        }
    }

    [Fact]
    public async Task A_run_against_an_agent_shaped_server_reports_rates_overhead_and_decision_time()
    {
        await using var sim = await StartSimulationAsync();
        await using var agent = await FakeAgent.StartAsync();
        using var folder = new TempFolder();

        var (exit, stdout, stderr) = await RunAsync("--target", agent.Address.ToString(), "--direct-url", sim.Address.ToString(),
            "--metrics-url", agent.Address.ToString(), "--rate", "40", "--duration", "1", "--warmup", "0.2", "--max-tokens", "3",
            "--mode", "auto", "--slo-ms", "500", "--json", folder.File("run.jsonl"), "--csv", folder.File("run.csv"));

        Assert.True(exit == 0, stderr);
        Assert.Contains("agent overhead", stdout, StringComparison.Ordinal);
        Assert.Contains("decision time: mean", stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(folder.File("run.jsonl")));
        var root = json.RootElement;
        var phase = root.GetProperty("agent");
        long ok = phase.GetProperty("ok").GetInt64();
        Assert.Equal(phase.GetProperty("requests").GetInt64(), ok);
        var byPath = phase.GetProperty("ok_by_path");
        long local = byPath.TryGetProperty("local", out var l) ? l.GetInt64() : 0;
        long gpu = byPath.TryGetProperty("gpu", out var g) ? g.GetInt64() : 0;
        long speculative = byPath.TryGetProperty("speculative", out var s) ? s.GetInt64() : 0;
        Assert.Equal(ok, local + gpu + speculative);
        Assert.True(local > 0 && gpu + speculative > 0, $"local {local}, gpu {gpu}, speculative {speculative}");
        // The fake agent answers short prompts locally and long ones from the GPU (speculative ones replaced).
        Assert.Equal((double)local / ok, root.GetProperty("local_hit_rate").GetDouble(), 9);
        Assert.Equal((double)(gpu + speculative) / ok, root.GetProperty("escalation_rate").GetDouble(), 9);
        Assert.Equal(speculative, phase.GetProperty("replaced").GetInt64());
        Assert.True(Group(phase, "local").GetProperty("ttft_p50_ms").GetDouble() >= FakeAgent.LocalDelay.TotalMilliseconds);

        var overhead = root.GetProperty("overhead");
        Assert.Equal(local, overhead.GetProperty("matched_requests").GetInt64());
        Assert.Equal(JsonValueKind.Number, overhead.GetProperty("overhead_p50_ms").ValueKind);
        Assert.Equal(JsonValueKind.Number, overhead.GetProperty("paired_p50_ms").ValueKind);

        var decision = root.GetProperty("decision");
        Assert.Equal(JsonValueKind.Null, decision.GetProperty("error").ValueKind);
        // The decisions of the measured requests. The scrape at the end of the warm-up races the requests in flight at
        // that moment: on a busy machine up to the whole warm-up (40/s x 0.2 s = 8 requests) may land on either side.
        const int warmupRequests = 8;
        Assert.InRange(decision.GetProperty("decisions").GetDouble(), ok - warmupRequests - 3, ok + warmupRequests + 3);
        Assert.InRange(decision.GetProperty("mean_us").GetDouble(), 4 - 1e-6, 4 + 1e-6);
        Assert.True(decision.GetProperty("met").GetBoolean());

        Assert.All(agent.Received, r => Assert.Equal(("auto", "500"), (r.Mode, r.Slo)));
        Assert.All(agent.Received, r => Assert.Equal(3, r.MaxTokens));
    }

    private static int FreePort() => FreePorts.Next();

    /// <summary>What the fake agent received.</summary>
    private sealed record Received(string Mode, string Slo, int MaxTokens);

    /// <summary>A stand-in for the agent that writes its answers with the agent's own SSE sink: short
    /// prompts answered locally after <see cref="LocalDelay"/>; long ones by the GPU, prompts with "Prove"
    /// or "prove" speculatively (local draft, replace event, GPU answer). Every request observes 4 us
    /// in a real <see cref="EdgeMetrics"/> decision histogram, served at /metrics.</summary>
    private sealed class FakeAgent : IAsyncDisposable
    {
        public static readonly TimeSpan LocalDelay = TimeSpan.FromMilliseconds(25);

        private readonly WebApplication _app;
        private readonly System.Collections.Concurrent.ConcurrentQueue<Received> _received;

        private FakeAgent(WebApplication app, Uri address, System.Collections.Concurrent.ConcurrentQueue<Received> received)
        {
            _app = app;
            Address = address;
            _received = received;
        }

        public Uri Address { get; }

        public IEnumerable<Received> Received => _received;

        public static async Task<FakeAgent> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var registry = new MetricRegistry();
            var metrics = new EdgeMetrics(registry);
            var received = new System.Collections.Concurrent.ConcurrentQueue<Received>();
            app.MapPost("/v1/chat/completions", async context =>
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body);
                string prompt = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!;
                received.Enqueue(new Received(context.Request.Headers[EdgeHeaders.Mode].ToString(), context.Request.Headers[EdgeHeaders.Slo].ToString(),
                    body.RootElement.GetProperty("max_tokens").GetInt32()));
                metrics.DecisionTime.Observe(0.000004);
                var request = new EdgeRequest { Endpoint = EdgeEndpoint.Chat, Model = "local-small", Stream = true };
                var sink = new SseAnswerSink(context.Response, AnswerIdentity.For(request, TimeProvider.System), includeUsage: false);
                var ct = context.RequestAborted;
                bool hard = prompt.Length > 100;
                bool speculative = hard && prompt.Contains("rove", StringComparison.Ordinal);
                string path = speculative ? "speculative" : hard ? "gpu" : "local";
                await sink.BeginAsync(path, ct);
                await Task.Delay(hard && !speculative ? TimeSpan.FromMilliseconds(5) : LocalDelay, ct);
                await sink.TokenAsync(" first", ct);
                if (speculative)
                {
                    await sink.ReplaceAsync("gpu", ct);
                    await sink.TokenAsync(" better", ct);
                }

                await sink.TokenAsync(" second", ct);
                await sink.FinishAsync("stop", new UsageDto(3, 2, 5),
                    new DataplaneInfo(path, hard ? "classifier" : "short_prompt", hard ? "gpu" : "local", speculative, 0.5, 5), ct);
            });
            app.MapPrometheus("/metrics", registry);
            await app.StartAsync();
            int port = new Uri(app.Urls.Single()).Port;
            return new FakeAgent(app, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/")), received);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
