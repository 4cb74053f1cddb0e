using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
    public static async Task<HybridHarness> StartAsync(double gpuTtftMs = 50, double gpuTokensPerSecond = 200, double localTtftMs = 100,
        double localTokensPerSecond = 50, bool mutualTls = false, string agentCertificate = "valid",
        IDictionary<string, string?>? agentSettings = null)
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
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (pki != null)
        {
            daemonValues["Listen:Tls:Certificate"] = pki.ServerCertificate;
            daemonValues["Listen:Tls:Key"] = pki.ServerKey;
            daemonValues["Listen:Tls:ClientCa"] = pki.Ca;
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

/// <summary>A throw-away PKI for the test: a CA, a server certificate for 127.0.0.1, a client
/// certificate from the CA, and one from a foreign CA, written as PEM files.</summary>
public sealed class Pki : IDisposable
{
    private readonly string _dir;

    private Pki(string dir) => _dir = dir;

    public string Ca => Path.Combine(_dir, "ca.pem");

    public string ServerCertificate => Path.Combine(_dir, "server.pem");

    public string ServerKey => Path.Combine(_dir, "server.key");

    public string ClientCertificate => Path.Combine(_dir, "client.pem");

    public string ClientKey => Path.Combine(_dir, "client.key");

    public string ForeignCertificate => Path.Combine(_dir, "foreign.pem");

    public string ForeignKey => Path.Combine(_dir, "foreign.key");

    public static Pki Create()
    {
        var pki = new Pki(Directory.CreateTempSubdirectory("dataplane-pki-").FullName);
        using var ca = CreateCa("DataPlane Test CA");
        using var foreignCa = CreateCa("Foreign CA");
        File.WriteAllText(pki.Ca, ca.ExportCertificatePem());
        Write(Issue(ca, "gpu-host", server: true), pki.ServerCertificate, pki.ServerKey);
        Write(Issue(ca, "pi-edge", server: false), pki.ClientCertificate, pki.ClientKey);
        Write(Issue(foreignCa, "intruder", server: false), pki.ForeignCertificate, pki.ForeignKey);
        return pki;
    }

    private static void Write(X509Certificate2 certificate, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        certificate.Dispose();
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }

        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(12));
        return cert.CopyWithPrivateKey(key);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>A parsed agent answer (JSON or SSE).</summary>
public sealed record Answer(int Status, string? PathHeader, string Text, JsonElement? Dataplane, List<string> Events, bool Replaced, string Raw)
{
    public string Path => Dataplane?.GetProperty("path").GetString() ?? "";

    public string AnsweredBy => Dataplane?.GetProperty("answered_by").GetString() ?? "";

    public string Reason => Dataplane?.GetProperty("reason").GetString() ?? "";

    public static async Task<Answer> ReadAsync(HttpResponseMessage response)
    {
        string raw = await response.Content.ReadAsStringAsync();
        string? header = response.Headers.TryGetValues("X-DataPlane-Path", out var h) ? h.First() : null;
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            if (!response.IsSuccessStatusCode)
            {
                return new Answer((int)response.StatusCode, header, "", null, [], false, raw);
            }

            using var doc = JsonDocument.Parse(raw);
            var root = doc.RootElement;
            var choice = root.GetProperty("choices")[0];
            string text = choice.TryGetProperty("message", out var m) ? m.GetProperty("content").GetString()! : choice.GetProperty("text").GetString()!;
            return new Answer((int)response.StatusCode, header, text, root.GetProperty("dataplane").Clone(), [], false, raw);
        }

        var sb = new StringBuilder();
        JsonElement? dataplane = null;
        var events = new List<string>();
        bool replaced = false;
        string? eventName = null;
        foreach (string line in raw.Split('\n'))
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
                events.Add(eventName);
                continue;
            }

            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            string data = line[6..];
            if (data == "[DONE]")
            {
                events.Add("[DONE]");
                break;
            }

            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (eventName == "replace")
            {
                replaced = true;
                sb.Clear();
                eventName = null;
                continue;
            }

            if (root.TryGetProperty("error", out _))
            {
                events.Add("error");
                continue;
            }

            var choices = root.GetProperty("choices");
            if (choices.GetArrayLength() == 0)
            {
                events.Add("usage");
                continue;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content))
            {
                sb.Append(content.GetString());
            }
            else if (choice.TryGetProperty("text", out var text))
            {
                sb.Append(text.GetString());
            }

            if (root.TryGetProperty("dataplane", out var dp))
            {
                dataplane = dp.Clone();
            }

            events.Add("chunk");
        }

        return new Answer((int)response.StatusCode, header, sb.ToString(), dataplane, events, replaced, raw);
    }
}

internal static class Ports
{
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
