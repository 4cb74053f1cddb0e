using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent.Tests;

/// <summary>One agent in front of three daemons, each with its own simulated Triton, one of them ten times slower:
/// load-aware balancing sends it a small share, round-robin a third.</summary>
public sealed partial class GpuBalancingTests
{
    [GeneratedRegex("""dataplane_agent_gpu_host_picks_total\{host="([^"]+)"\} ([0-9.e+]+)""")]
    private static partial Regex Picks();

    private sealed class Pool : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _parts = [];

        public List<string> Hosts { get; } = [];

        public AgentApp Agent { get; private set; } = null!;

        public static async Task<Pool> StartAsync(string policy, params double[] ttftMs)
        {
            var pool = new Pool();
            var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }).Build();
            foreach (double ttft in ttftMs)
            {
                var llm = SimulatedModelOptions.LlmModel("llm") with { TimeToFirstToken = TimeSpan.FromMilliseconds(ttft), TokensPerSecond = 500 };
                var triton = await SimulatorServer.StartAsync(new SimulationOptions { Models = [llm] }, new IPEndPoint(IPAddress.Loopback, 0), embedded: true, quiet);
                pool._parts.Add(triton);
                var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Upstream:Address"] = triton.Address.ToString(),
                    ["Upstream:HealthIntervalMs"] = "100",
                    ["Listen:Grpc"] = "127.0.0.1:0",
                    ["Listen:Admin"] = "127.0.0.1:0",
                    ["Listen:Http"] = "127.0.0.1:0",
                    ["Logging:LogLevel:Default"] = "Warning",
                }).Build();
                var daemon = await Daemon.StartAsync(DaemonConfiguration.Bind(config), config, Prometheus.Metrics.NewCustomRegistry());
                pool._parts.Insert(0, daemon);
                pool.Hosts.Add($"127.0.0.1:{daemon.GrpcAddress.Port}");
            }

            var agentValues = new Dictionary<string, string?>
            {
                ["Listen:Api"] = "127.0.0.1:0",
                ["Listen:Admin"] = "127.0.0.1:0",
                ["Gpu:Balancing:Policy"] = policy,
                // A local runtime far slower than any host, so that a hedge never answers: every answer is the GPU's.
                ["Local:Simulation:TimeToFirstTokenMs"] = "20000",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            for (int i = 0; i < pool.Hosts.Count; i++)
            {
                agentValues[$"Gpu:Hosts:{i}"] = pool.Hosts[i];
            }

            var agentConfig = new ConfigurationBuilder().AddInMemoryCollection(agentValues).Build();
            pool.Agent = await AgentApp.StartAsync(AgentOptions.Bind(agentConfig), agentConfig, new DataPlane.Hosting.Metrics.MetricRegistry());
            pool._parts.Insert(0, pool.Agent);
            return pool;
        }

        /// <summary>Sends <paramref name="count"/> GPU requests, <paramref name="concurrency"/> at a time; returns picks per host.</summary>
        public async Task<Dictionary<string, double>> RunAsync(int count, int concurrency)
        {
            using var api = new HttpClient { BaseAddress = Agent.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
            int next = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = HybridHarness.Json(HybridHarness.Chat("balance me", maxTokens: 2)) };
                    request.Headers.Add("X-DataPlane-Mode", "gpu");
                    using var response = await api.SendAsync(request);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal("gpu", Assert.Single(response.Headers.GetValues("X-DataPlane-Path")));
                }
            }));

            using var admin = new HttpClient { BaseAddress = Agent.AdminAddress };
            string metrics = await admin.GetStringAsync("/metrics");
            return Picks().Matches(metrics).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var part in _parts)
            {
                await part.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Load_aware_sends_the_slow_host_a_small_share()
    {
        await using var pool = await Pool.StartAsync("load-aware", 10, 10, 200);
        var picks = await pool.RunAsync(90, 3);
        Assert.Equal(90, picks.Values.Sum());
        Assert.True(picks.GetValueOrDefault(pool.Hosts[2]) <= 9, $"slow host got {picks.GetValueOrDefault(pool.Hosts[2])} of 90");
        Assert.True(picks[pool.Hosts[0]] >= 20 && picks[pool.Hosts[1]] >= 20, string.Join(", ", picks));
    }

    [Fact]
    public async Task Round_robin_sends_every_host_a_third()
    {
        await using var pool = await Pool.StartAsync("round-robin", 10, 10, 200);
        var picks = await pool.RunAsync(30, 3);
        Assert.All(pool.Hosts, h => Assert.Equal(10, picks[h]));
    }
}
