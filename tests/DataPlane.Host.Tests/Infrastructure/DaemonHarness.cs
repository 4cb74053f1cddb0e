using System.Net;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace DataPlane.Host.Tests.Infrastructure;

/// <summary>A simulated Triton on its own Kestrel server and the daemon in front of it, both on
/// 127.0.0.1, with a gRPC client to the daemon, an HTTP client to its HTTP/REST front end and one to its admin listener. Settings
/// go through the daemon's real configuration binder.</summary>
public sealed class DaemonHarness : IAsyncDisposable
{
    private DaemonHarness(Daemon daemon, SimulatorServer simulator, CollectorRegistry metrics, int simulatorPort, SimulationOptions simulation,
        IConfiguration configuration)
    {
        Daemon = daemon;
        Simulator = simulator;
        Metrics = metrics;
        SimulatorPort = simulatorPort;
        Simulation = simulation;
        Configuration = configuration;
        Channel = GrpcChannel.ForAddress(daemon.GrpcAddress, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
        Admin = new HttpClient { BaseAddress = daemon.AdminAddress, Timeout = TimeSpan.FromSeconds(10) };
        // Answers are read as they arrive: no automatic decompression, so tests see Content-Encoding.
        Http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = daemon.HttpAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Daemon Daemon { get; }

    public SimulatorServer Simulator { get; private set; }

    public SimulatedTriton Triton => Simulator.Services.GetRequiredService<SimulatedTriton>();

    public CollectorRegistry Metrics { get; }

    public int SimulatorPort { get; }

    public SimulationOptions Simulation { get; }

    public IConfiguration Configuration { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public HttpClient Admin { get; }

    /// <summary>A client of the daemon's HTTP/REST front end (Triton's port 8000 protocol).</summary>
    public HttpClient Http { get; }

    /// <summary>Starts both servers. <paramref name="settings"/> are configuration keys, e.g.
    /// ["Batching:Models:simple:Policy"] = "fixed".</summary>
    public static async Task<DaemonHarness> StartAsync(IDictionary<string, string?>? settings = null, SimulationOptions? simulation = null)
    {
        simulation ??= SimulationOptions.Default;
        int port = FreePort();
        var quiet = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        var simulator = await SimulatorServer.StartAsync(simulation, new IPEndPoint(IPAddress.Loopback, port), embedded: true, quiet);

        var values = new Dictionary<string, string?>
        {
            ["Upstream:Address"] = simulator.Address.ToString(),
            ["Upstream:HealthIntervalMs"] = "100",
            ["Upstream:ProbeTimeoutMs"] = "5000",
            ["Listen:Grpc"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Listen:Http"] = "127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            values[k] = v;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var options = DaemonConfiguration.Bind(configuration);
        var metrics = Prometheus.Metrics.NewCustomRegistry();
        var daemon = await Daemon.StartAsync(options, configuration, metrics);
        var harness = new DaemonHarness(daemon, simulator, metrics, port, simulation, quiet);

        // Ready means the models are known; one call opens the client's connection.
        await Eventually.TrueAsync(async () => (await harness.Client.ServerReadyAsync(new ServerReadyRequest())).Ready,
            TimeSpan.FromSeconds(20), "the daemon to become ready");
        return harness;
    }

    /// <summary>Stops the simulated Triton (its port then refuses connections).</summary>
    public async Task StopSimulatorAsync() => await Simulator.DisposeAsync();

    /// <summary>Starts a fresh simulated Triton on the same port.</summary>
    public async Task RestartSimulatorAsync() =>
        Simulator = await SimulatorServer.StartAsync(Simulation, new IPEndPoint(IPAddress.Loopback, SimulatorPort), embedded: true, Configuration);

    /// <summary>The admin listener's /metrics text.</summary>
    public Task<string> MetricsTextAsync() => Admin.GetStringAsync("/metrics");

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Admin.Dispose();
        Http.Dispose();
        await Daemon.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    public static int FreePort() => FreePorts.Next();
}

/// <summary>One daemon and simulator with default settings, shared by the tests of a class.</summary>
public sealed class DefaultDaemonFixture : IAsyncLifetime
{
    public DaemonHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await DaemonHarness.StartAsync();

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}
