using System.Net;
using System.Text;
using System.Text.Json;
using DataPlane.Agent;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Configuration;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace DataPlane.Agent.Tests;

/// <summary>The whole hybrid path on loopback: simulated Triton → `dataplane` daemon → agent (with its
/// embedded simulated Pi runtime), optionally with mutual TLS between the agent and the daemon.</summary>
public sealed class HybridHarness : IAsyncDisposable
{
    private HybridHarness(SimulatorServer triton, Daemon daemon, AgentApp agent, Pki? pki)
    {
        Triton = triton;
        Daemon = daemon;
        Agent = agent;
        Pki = pki;
        Api = new HttpClient { BaseAddress = agent.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        Admin = new HttpClient { BaseAddress = agent.AdminAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public SimulatorServer Triton { get; private set; }

    public Daemon Daemon { get; }

    public AgentApp Agent { get; }

    public Pki? Pki { get; }

    public HttpClient Api { get; }

    public HttpClient Admin { get; }

    /// <param name="gpuTtftMs">Simulated Triton LLM time to first token.</param>
    /// <param name="gpuTokensPerSecond">Simulated Triton LLM token rate.</param>
    /// <param name="localTtftMs">Simulated Pi runtime time to first token.</param>
    /// <param name="localTokensPerSecond">Simulated Pi runtime token rate.</param>
    /// <param name="mutualTls">Daemon requires client certificates; the agent presents <paramref name="agentCertificate"/>.</param>
    /// <param name="agentCertificate">"valid", "none" or "foreign" (issued by another CA).</param>
    /// <param name="agentSettings">Extra agent configuration keys.</param>
    /// <param name="daemonSettings">Extra daemon configuration keys.</param>
    public static async Task<HybridHarness> StartAsync(double gpuTtftMs = 50, double gpuTokensPerSecond = 200, double localTtftMs = 100,
        double localTokensPerSecond = 50, bool mutualTls = false, string agentCertificate = "valid",
        IDictionary<string, string?>? agentSettings = null, IDictionary<string, string?>? daemonSettings = null)
    {
        var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }).Build();
        var llm = SimulatedModelOptions.LlmModel("llm") with
        {
            TimeToFirstToken = TimeSpan.FromMilliseconds(gpuTtftMs),
            TokensPerSecond = gpuTokensPerSecond,
        };
        var triton = await SimulatorServer.StartAsync(new SimulationOptions { Models = [llm] }, new IPEndPoint(IPAddress.Loopback, 0), embedded: true, quiet);

        var pki = mutualTls ? Pki.Create() : null;
        var daemonValues = new Dictionary<string, string?>
        {
            ["Upstream:Address"] = triton.Address.ToString(),
            ["Upstream:HealthIntervalMs"] = "100",
            ["Listen:Grpc"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Listen:Http"] = "127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (pki != null)
        {
            daemonValues["Listen:Tls:Certificate"] = pki.ServerCertificate;
            daemonValues["Listen:Tls:Key"] = pki.ServerKey;
            daemonValues["Listen:Tls:ClientCa"] = pki.Ca;
        }

        foreach (var (k, v) in daemonSettings ?? new Dictionary<string, string?>())
        {
            daemonValues[k] = v;
        }

        var daemonConfig = new ConfigurationBuilder().AddInMemoryCollection(daemonValues).Build();
        var daemon = await Daemon.StartAsync(DaemonConfiguration.Bind(daemonConfig), daemonConfig, Prometheus.Metrics.NewCustomRegistry());

        var agentValues = new Dictionary<string, string?>
        {
            ["Listen:Api"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Local:Simulation:TimeToFirstTokenMs"] = localTtftMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Local:Simulation:TokensPerSecond"] = localTokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gpu:Hosts:0"] = $"127.0.0.1:{daemon.GrpcAddress.Port}",
            ["Gpu:Models:0"] = "big-70b",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (pki != null && agentCertificate != "none")
        {
            agentValues["Gpu:Tls:Certificate"] = agentCertificate == "valid" ? pki.ClientCertificate : pki.ForeignCertificate;
            agentValues["Gpu:Tls:Key"] = agentCertificate == "valid" ? pki.ClientKey : pki.ForeignKey;
            agentValues["Gpu:Tls:Ca"] = pki.Ca;
        }

        foreach (var (k, v) in agentSettings ?? new Dictionary<string, string?>())
        {
            agentValues[k] = v;
        }

        var agentConfig = new ConfigurationBuilder().AddInMemoryCollection(agentValues).Build();
        var agent = await AgentApp.StartAsync(AgentOptions.Bind(agentConfig), agentConfig, new DataPlane.Hosting.Metrics.MetricRegistry());
        return new HybridHarness(triton, daemon, agent, pki);
    }

    public async Task StopTritonAndDaemonAsync()
    {
        await Daemon.StopAsync();
        await Triton.DisposeAsync();
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A chat request body.</summary>
    public static string Chat(string prompt, int maxTokens = 6, bool stream = false, string model = "local-small", bool includeUsage = false) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = model,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
            ["max_tokens"] = maxTokens,
            ["stream"] = stream,
            ["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = includeUsage },
        });

    public async Task<HttpResponseMessage> PostAsync(string path, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public async Task<string> MetricsAsync() => await Admin.GetStringAsync("/metrics");

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        Admin.Dispose();
        await Agent.DisposeAsync();
        await Daemon.DisposeAsync();
        await Triton.DisposeAsync();
        Pki?.Dispose();
    }
}
