using System.Net;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Hosting.Listeners;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Prometheus;

namespace DataPlane.Host.Tests.Authorization;

/// <summary>A simulated Triton and the daemon in front of it with mutual TLS on its gRPC and HTTP listeners (server and
/// client certificates from a <see cref="TestCa"/>), and clients that present a chosen certificate.</summary>
public sealed class MutualTlsHarness : IAsyncDisposable
{
    private readonly List<IDisposable> _clients = [];

    private MutualTlsHarness(TestCa ca, string dir, SimulatorServer simulator, Daemon daemon, CollectorRegistry metrics)
    {
        Ca = ca;
        Dir = dir;
        Simulator = simulator;
        Daemon = daemon;
        Metrics = metrics;
        Admin = new HttpClient { BaseAddress = daemon.AdminAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public TestCa Ca { get; }

    public string Dir { get; }

    public SimulatorServer Simulator { get; }

    public Daemon Daemon { get; }

    public CollectorRegistry Metrics { get; }

    public HttpClient Admin { get; }

    /// <summary>The revocation list file (<c>Listen:Tls:Crl</c>) when started with one.</summary>
    public string CrlPath => Path.Combine(Dir, "crl.pem");

    /// <param name="settings">Extra daemon keys (e.g. Authorization:…).</param>
    /// <param name="simulation">The simulated Triton's models and model control.</param>
    /// <param name="crl">Start with a revocation list (empty) at <see cref="CrlPath"/>.</param>
    public static async Task<MutualTlsHarness> StartAsync(IDictionary<string, string?>? settings = null, SimulationOptions? simulation = null,
        bool crl = false)
    {
        var ca = TestCa.Create();
        string dir = Directory.CreateTempSubdirectory("dataplane-authz-").FullName;
        File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.Pem);
        using (var server = ca.IssueServer())
        {
            TestCa.Write(server, dir, "server");
        }

        var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }).Build();
        var simulator = await SimulatorServer.StartAsync(simulation ?? SimulationOptions.Default, new IPEndPoint(IPAddress.Loopback, 0), embedded: true, quiet);
        var values = new Dictionary<string, string?>
        {
            ["Upstream:Address"] = simulator.Address.ToString(),
            ["Upstream:HealthIntervalMs"] = "100",
            ["Listen:Grpc"] = "127.0.0.1:0",
            ["Listen:Http"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Listen:Tls:Certificate"] = Path.Combine(dir, "server.pem"),
            ["Listen:Tls:Key"] = Path.Combine(dir, "server.key"),
            ["Listen:Tls:ClientCa"] = Path.Combine(dir, "ca.pem"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (crl)
        {
            File.WriteAllText(Path.Combine(dir, "crl.pem"), ca.CrlPem());
            values["Listen:Tls:Crl"] = Path.Combine(dir, "crl.pem");
        }

        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            values[k] = v;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var metrics = Prometheus.Metrics.NewCustomRegistry();
        var daemon = await Daemon.StartAsync(DaemonConfiguration.Bind(configuration), configuration, metrics);
        return new MutualTlsHarness(ca, dir, simulator, daemon, metrics);
    }

    /// <summary>A certificate for a client named <paramref name="commonName"/> (and optionally by subjectAltName).</summary>
    public X509Certificate2 Client(string commonName, string[]? dns = null, string[]? uris = null)
    {
        var certificate = Ca.IssueClient(commonName, dns, uris);
        _clients.Add(certificate);
        return certificate;
    }

    private SocketsHttpHandler Handler(X509Certificate2 client)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate != null && ListenerSetup.IsIssuedBy(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), [Ca.Certificate], serverAuth: true);
        handler.SslOptions.ClientCertificates = [client];
        return handler;
    }

    /// <summary>A gRPC client presenting <paramref name="client"/> on its own connection.</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Grpc(X509Certificate2 client)
    {
        var channel = GrpcChannel.ForAddress(Daemon.GrpcAddress, new GrpcChannelOptions { HttpHandler = Handler(client) });
        _clients.Add(channel);
        return new GRPCInferenceService.GRPCInferenceServiceClient(channel);
    }

    /// <summary>A gRPC health client presenting <paramref name="client"/>.</summary>
    public DataPlane.Protocol.Health.Health.HealthClient Health(X509Certificate2 client)
    {
        var channel = GrpcChannel.ForAddress(Daemon.GrpcAddress, new GrpcChannelOptions { HttpHandler = Handler(client) });
        _clients.Add(channel);
        return new DataPlane.Protocol.Health.Health.HealthClient(channel);
    }

    /// <summary>An HTTP/REST client presenting <paramref name="client"/>.</summary>
    public HttpClient Http(X509Certificate2 client)
    {
        var http = new HttpClient(Handler(client)) { BaseAddress = Daemon.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };
        _clients.Add(http);
        return http;
    }

    public Task<string> MetricsTextAsync() => Admin.GetStringAsync("/metrics");

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        Admin.Dispose();
        await Daemon.DisposeAsync();
        await Simulator.DisposeAsync();
        Ca.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
