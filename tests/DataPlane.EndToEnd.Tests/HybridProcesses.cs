using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The GPU side of the hybrid as real processes: `dataplane sim` (the simulated Triton with
/// three LLMs of different speed) and `dataplane serve` in front of it, requiring client certificates
/// from a throw-away CA. Tests start their own `dataplane-agent` processes against it.</summary>
public sealed class GpuSide : IAsyncLifetime
{
    /// <summary>Triton models of the simulation: fast (20 ms to first token, 200 tokens/s), mid
    /// (150 ms, 100 tokens/s) and slow (3 s to first token).</summary>
    public const string Fast = "llm", Mid = "llm_mid", Slow = "llm_slow";

    private readonly List<ChildProcess> _processes = [];
    private string _dir = "";

    public Pki Pki { get; private set; } = null!;

    public int SimPort { get; private set; }

    public int GrpcPort { get; private set; }

    public async Task InitializeAsync()
    {
        Pki = Pki.Create();
        _dir = Directory.CreateTempSubdirectory("dataplane-e2e-hybrid-").FullName;
        string config = Path.Combine(_dir, "sim.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Simulation": { "Models": [
                { "Name": "{{Fast}}", "Kind": "Llm", "TimeToFirstTokenMs": 20, "TokensPerSecond": 200 },
                { "Name": "{{Mid}}", "Kind": "Llm", "TimeToFirstTokenMs": 150, "TokensPerSecond": 100 },
                { "Name": "{{Slow}}", "Kind": "Llm", "TimeToFirstTokenMs": 3000, "TokensPerSecond": 100 } ] } }
            """);
        SimPort = Binaries.FreePort();
        _processes.Add(new ChildProcess(Binaries.Dataplane, "sim", "--listen", $"127.0.0.1:{SimPort}", "--config", config));
        (_, GrpcPort) = await StartDaemonAsync();
    }

    /// <summary>Starts another `dataplane serve` (with mTLS) in front of the simulation; returns it and its gRPC port.</summary>
    public async Task<(ChildProcess Daemon, int Port)> StartDaemonAsync()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--upstream", $"http://127.0.0.1:{SimPort}",
            "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0", "--Upstream:HealthIntervalMs=100",
            $"--Listen:Tls:Certificate={Pki.ServerCertificate}", $"--Listen:Tls:Key={Pki.ServerKey}", $"--Listen:Tls:ClientCa={Pki.Ca}");
        _processes.Add(daemon);
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));
        return (daemon, grpc);
    }

    /// <summary>Starts a `dataplane-agent` with its embedded simulated local runtime, escalating to
    /// <paramref name="gpuPort"/> over mTLS with <paramref name="certificate"/> ("valid", "foreign" or "none").</summary>
    public async Task<AgentProcess> StartAgentAsync(int gpuPort, string tritonModel, double localTtftMs, double localTokensPerSecond,
        string certificate = "valid", params string[] extra)
    {
        int api = Binaries.FreePort(), admin = Binaries.FreePort();
        var args = new List<string>
        {
            "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{admin}", "--gpu", $"127.0.0.1:{gpuPort}",
            $"--Gpu:DefaultModel={tritonModel}", "--Gpu:Models:0=big-70b",
            $"--Local:Simulation:TimeToFirstTokenMs={localTtftMs.ToString(CultureInfo.InvariantCulture)}",
            $"--Local:Simulation:TokensPerSecond={localTokensPerSecond.ToString(CultureInfo.InvariantCulture)}",
        };
        if (certificate != "none")
        {
            args.Add($"--Gpu:Tls:Certificate={(certificate == "valid" ? Pki.ClientCertificate : Pki.ForeignCertificate)}");
            args.Add($"--Gpu:Tls:Key={(certificate == "valid" ? Pki.ClientKey : Pki.ForeignKey)}");
            args.Add($"--Gpu:Tls:Ca={Pki.Ca}");
        }

        args.AddRange(extra);
        var process = new ChildProcess(Binaries.Agent, [.. args]);
        _processes.Add(process);
        await process.WaitForHttpAsync($"http://127.0.0.1:{api}/readyz", TimeSpan.FromSeconds(30));
        // The agent connects its GPU pool in the background after start; wait for the verdict.
        await process.WaitForOutputAsync("GPU pool", TimeSpan.FromSeconds(30), after: "serving the API");
        return new AgentProcess(process, api, admin);
    }

    /// <summary>An HTTP/2 handler that trusts only the test CA and presents <paramref name="client"/>, if any.</summary>
    public SocketsHttpHandler Handler(X509Certificate2? client)
    {
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Pki.Ca));
        var caCopy = X509CertificateLoader.LoadCertificate(ca.RawData);
        var ssl = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate == null)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(caCopy);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            },
        };
        if (client != null)
        {
            ssl.ClientCertificates = [client];
        }

        return new SocketsHttpHandler { SslOptions = ssl };
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        Pki.Dispose();
        Directory.Delete(_dir, recursive: true);
        await Task.CompletedTask;
    }
}

/// <summary>A running `dataplane-agent` and clients for its API and admin listeners.</summary>
public sealed class AgentProcess(ChildProcess process, int apiPort, int adminPort)
{
    public ChildProcess Process { get; } = process;

    public HttpClient Api { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(60) };

    public HttpClient Admin { get; } = new() { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(10) };

    public int ApiPort => apiPort;

    public static string Chat(string prompt, int maxTokens = 6, bool stream = false, string model = "local-small") =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = model,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
            ["max_tokens"] = maxTokens,
            ["stream"] = stream,
        });

    public async Task<Answer> AskAsync(string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return await Answer.ReadAsync(response);
    }

    public Task<string> MetricsAsync() => Admin.GetStringAsync("/metrics");
}
