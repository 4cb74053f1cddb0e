using System.Text.Json.Serialization;
using DataPlane.Edge.Gpu;
using DataPlane.Edge.Routing;
using DataPlane.Edge.Runtimes;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Edge.Serving;
using DataPlane.Edge.Tracing;
using DataPlane.Hosting.Listeners;
using DataPlane.Hosting.Metrics;
using DataPlane.Hosting.Logging;
using DataPlane.Hosting.Systemd;
using DataPlane.Hosting.Tracing;

namespace DataPlane.Agent;

/// <summary>The `dataplane-agent serve` composition: the OpenAI-compatible API and the admin
/// listener on one Kestrel server, the local runtime (the embedded simulation when none is
/// configured), the GPU pool client, the routing components and the health loop.</summary>
public sealed partial class AgentApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private IDisposable? _tracing;
    private readonly SimulatedLocalRuntimeServer? _simulation;
    private readonly BoundListener _api;
    private readonly BoundListener _admin;
    private readonly HttpClient _http;

    private AgentApp(WebApplication app, SimulatedLocalRuntimeServer? simulation, BoundListener api, BoundListener admin, HttpClient http,
        EdgeService service, ConnectionLimits connections)
    {
        Connections = connections;
        _app = app;
        _simulation = simulation;
        _api = api;
        _admin = admin;
        _http = http;
        Service = service;
    }

    public Uri ApiAddress => _api.Url;

    public Uri AdminAddress => _admin.Url;

    /// <summary>The embedded simulated local runtime's address, when it is used.</summary>
    public Uri? SimulationAddress => _simulation?.Address;

    public EdgeService Service { get; }

    /// <summary>The connection cap of the api and admin listeners.</summary>
    public ConnectionLimits Connections { get; }

    public static async Task<AgentApp> StartAsync(AgentOptions options, IConfiguration configuration, MetricRegistry? metrics = null,
        CancellationToken cancellationToken = default)
    {
        metrics ??= new MetricRegistry();
        // The empty builder keeps the Pi binary small: no default configuration sources, middleware or
        // developer pages; Kestrel without HTTP/3, and routing without regex constraints.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "dataplane-agent" });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        ConsoleLogging.Configure(builder.Logging, configuration);
        BoundListener? api = null;
        BoundListener? admin = null;
        // Caps from the descriptor limit (or configuration): a flood of the API leaves the admin listener, the local
        // runtime's connections and the GPU pool's channel their descriptors.
        var connections = ConnectionLimits.Create(ConnectionBudget.Agent, options.Connections);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // The API refuses bodies over Serving:MaxRequestBytes itself (413 in OpenAI's shape); Kestrel's own
            // cap sits well above it so a refused body is drained and the client reads the answer.
            k.Limits.MaxRequestBodySize = (options.Serving.MaxRequestBytes * 4) + (1 << 20);
            options.Connections.ApplyTo(k);
            api = ListenerSetup.Listen(k, options.Api, connections[options.Api.Name]);
            admin = ListenerSetup.Listen(k, options.Admin, connections[options.Admin.Name]);
        });

        var loggers = LoggerFactory.Create(l => ConsoleLogging.Configure(l, configuration));
        SimulatedLocalRuntimeServer? simulation = null;
        var localUrl = options.Local.Url;
        if (options.Local.Kind == LocalRuntimeFactory.Simulated && localUrl == null)
        {
            simulation = await SimulatedLocalRuntimeServer.StartAsync(options.Local.Simulation,
                new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), loggers, cancellationToken).ConfigureAwait(false);
            localUrl = simulation.Address;
        }

        var http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            MaxConnectionsPerServer = 256,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var local = LocalRuntimeFactory.Create(options.Local.Kind, localUrl, options.Serving.LocalRuntimeModel, http, options.Local.Timeout, loggers);
        var time = TimeProvider.System;
        var edgeMetrics = new EdgeMetrics(metrics);
        var classifier = options.ClassifierPath != null ? PromptClassifier.Load(options.ClassifierPath) : PromptClassifier.Default;
        var service = new EdgeService(
            local,
            new GpuPool(options.Gpu, loggers.CreateLogger("DataPlane.Edge.Gpu"), metrics),
            classifier,
            options.Routing,
            options.Serving,
            new CircuitBreaker("gpu-pool", options.Breaker, time, loggers.CreateLogger("DataPlane.Edge.GpuBreaker")),
            new HedgeDelay(new LatencyTracker(time: time), options.Hedge),
            edgeMetrics,
            loggers.CreateLogger<EdgeService>(),
            time,
            new LocalCapacity(options.Local.Capacity, time, edgeMetrics));
        var health = new EdgeHealth(service, logger: loggers.CreateLogger("DataPlane.Edge.Serving.EdgeHealth"));
        // Type=notify: READY once the listeners answer, STATUS, a watchdog keep-alive gated on the decision path
        // answering on the thread pool that serves requests, STOPPING when draining begins.
        builder.Services.AddSystemdNotify(_ => new SystemdIntegrationOptions
        {
            Liveness = (_, ct) => Task.Run(() => double.IsFinite(classifier.Score("liveness probe")), ct),
            Status = () => $"serving; local runtime {local.Name} {(health.LocalReady ? "ready" : "not ready")}, GPU pool "
                + (service.Gpu.Configured ? (service.GpuAvailable ? "up" : "down") : "none") + $", breaker {service.Breaker.State}",
        });
        builder.Services.AddListenerIsolation(options.Api.Name);
        builder.Services.AddSingleton(service);
        builder.Services.AddHostedService(_ => health);

        var app = builder.Build();
        connections.ExportTo(metrics, "dataplane_agent");
        connections.UseLogger(loggers.CreateLogger("DataPlane.Hosting.Connections"));
        ExportCertificateExpiry(metrics, [(api!.Listener.Name, api.Certificate), (admin!.Listener.Name, admin.Certificate),
            ("gpu_client", service.Gpu.ClientCertificate)]);
        ExportRevocation(metrics, [(api.Listener.Name, api.Revocation), ("gpu_client", service.Gpu.Revocation)]);
        app.UseRouting();
        EdgeEndpoints.Map(app, service, edgeMetrics, health, options.Api.Name, app.Logger, time);
        app.MapPrometheus("/metrics", metrics).OnListener(options.Admin.Name);
        app.MapGet("/healthz", context => context.Response.WriteAsync("ok\n")).OnListener(options.Admin.Name);
        app.MapGet("/status", context => context.Response.WriteAsJsonAsync(Status(service, health, options), AgentJsonContext.Default.AgentStatus))
            .OnListener(options.Admin.Name);

        await health.CheckNowAsync(cancellationToken).ConfigureAwait(false);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var agent = new AgentApp(app, simulation, api!, admin!, http, service, connections)
        {
            _tracing = TracingSetup.Start(options.Tracing, "dataplane-agent", [AgentTracing.SourceName], app.Logger),
        };
        if (simulation != null)
        {
            Log.EmbeddedSimulation(app.Logger, simulation.Address);
        }

        Log.Started(app.Logger, agent.ApiAddress, agent.AdminAddress, local.Name, localUrl?.ToString() ?? "(default)",
            options.Gpu.Hosts.Count == 0 ? "none" : string.Join(", ", options.Gpu.Hosts), options.Gpu.Tls != null);
        if (service.Gpu.Configured)
        {
            agent.GpuWarmUp = WarmUpAsync(service.Gpu, options.Gpu, app.Logger, app.Lifetime.ApplicationStopping);
        }

        return agent;
    }

    /// <summary>The background connection of the GPU pool at start: how many hosts answered ready (0 without a pool).</summary>
    public Task<int> GpuWarmUp { get; private set; } = Task.FromResult(0);

    private static async Task<int> WarmUpAsync(GpuPool pool, GpuOptions options, ILogger logger, CancellationToken stopping)
    {
        try
        {
            var (ready, problem) = await pool.WarmUpAsync(options.ConnectTimeout + TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
            int hosts = Math.Max(1, options.Hosts.Count);
            if (problem == null)
            {
                Log.GpuWarm(logger, ready, hosts);
            }
            else
            {
                Log.GpuNotWarm(logger, ready, hosts, problem);
            }

            return ready;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return 0;
        }
    }

    /// <summary>dataplane_agent_tls_certificate_expiry_timestamp_seconds{certificate}: when each certificate in use
    /// (a TLS listener's, the client certificate for the GPU hosts) stops being valid, read at each scrape so that
    /// a rotated file shows as soon as the reloader picks it up.</summary>
    private static void ExportCertificateExpiry(MetricRegistry metrics, (string Name, CertificateReloader? Certificate)[] certificates)
    {
        var inUse = certificates.Where(c => c.Certificate != null).ToArray();
        if (inUse.Length == 0)
        {
            return;
        }

        var expiry = metrics.CreateGauge("dataplane_agent_tls_certificate_expiry_timestamp_seconds",
            "When each TLS certificate in use stops being valid, in Unix seconds: listeners by name, gpu_client for the client certificate presented to the GPU hosts.",
            "certificate");
        metrics.AddBeforeExport(() =>
        {
            foreach (var (name, certificate) in inUse)
            {
                expiry.WithLabels(name).Set(certificate!.NotAfterUnixSeconds);
            }
        });
    }

    /// <summary>The revocation lists in use (<c>Listen:Tls:Crl</c> for API clients, <c>Gpu:Tls:Crl</c> for GPU hosts), read at
    /// each scrape: dataplane_agent_tls_crl_revoked_certificates{tls}, dataplane_agent_tls_crl_next_update_timestamp_seconds{tls}
    /// and dataplane_agent_tls_revoked_handshakes_total{tls}.</summary>
    private static void ExportRevocation(MetricRegistry metrics, (string Name, RevocationListReloader? Revocation)[] lists)
    {
        var inUse = lists.Where(l => l.Revocation != null).ToArray();
        if (inUse.Length == 0)
        {
            return;
        }

        var entries = metrics.CreateGauge("dataplane_agent_tls_crl_revoked_certificates",
            "Certificates the revocation list in use names: api for API clients, gpu_client for GPU hosts.", "tls");
        var nextUpdate = metrics.CreateGauge("dataplane_agent_tls_crl_next_update_timestamp_seconds",
            "When the revocation list in use should be replaced by a fresher one (its nextUpdate), in Unix seconds; 0 when it gives none.", "tls");
        var refused = metrics.CreateCounter("dataplane_agent_tls_revoked_handshakes_total",
            "TLS handshakes refused because the peer's certificate is revoked: api (clients), gpu_client (GPU hosts).", "tls");
        metrics.AddBeforeExport(() =>
        {
            foreach (var (name, revocation) in inUse)
            {
                var list = revocation!.Current;
                entries.WithLabels(name).Set(list.Count);
                nextUpdate.WithLabels(name).Set(list.NextUpdate?.ToUnixTimeSeconds() ?? 0);
                var count = refused.WithLabels(name);
                double behind = revocation.Refused - count.Value;
                if (behind > 0)
                {
                    count.Inc(behind);
                }
            }
        });
    }

    private static AgentStatus Status(EdgeService service, EdgeHealth health, AgentOptions options) => new(
        "dataplane-agent",
        AgentCommands.Version,
        health.CanAnswer,
        new LocalStatus(service.Local.Name, health.LocalReady, service.Local.ProvidesLogprobs, service.LocalTimeToFirstToken.TotalMilliseconds,
            new CapacityStatus(service.LocalCapacity.Capacity, service.LocalCapacity.Source, service.LocalCapacity.InFlight,
                service.LocalCapacity.Queued, service.LocalCapacity.Options.QueueLength)),
        new GpuStatus(options.Gpu.Hosts, options.Gpu.Tls != null, service.GpuAvailable, service.Breaker.State.ToString().ToLowerInvariant()),
        new RoutingStatus(options.Routing.Threshold, options.Routing.UncertaintyBand, options.Routing.TokenConfidenceThreshold,
            options.ClassifierPath ?? "embedded"));

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        // Flushes the spans of the last requests.
        Interlocked.Exchange(ref _tracing, null)?.Dispose();
        Service.Gpu.Dispose();
        _http.Dispose();
        if (_simulation != null)
        {
            await _simulation.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information,
            Message = "dataplane-agent serving the API at {Api}, admin at {Admin}; local runtime {Runtime} at {LocalUrl}; GPU pool: {Gpu} (mTLS {Tls})")]
        public static partial void Started(ILogger logger, Uri api, Uri admin, string runtime, string localUrl, string gpu, bool tls);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
            Message = "No local runtime configured (Local:Url): answering from the embedded SIMULATED Pi runtime at {Address} (about 0.3 s to first token, 8 tokens/s, 2 generations at once by default). Set Local:Runtime and Local:Url for llama.cpp, Ollama or hailo-ollama")]
        public static partial void EmbeddedSimulation(ILogger logger, Uri address);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "GPU pool connected: {Ready} of {Hosts} hosts ready")]
        public static partial void GpuWarm(ILogger logger, int ready, int hosts);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
            Message = "GPU pool not fully connected at start: {Ready} of {Hosts} hosts ready ({Problem}); escalations retry, and answer locally while it fails")]
        public static partial void GpuNotWarm(ILogger logger, int ready, int hosts, string problem);
    }
}

public sealed record LocalStatus(string Runtime, bool Ready, bool Logprobs, double TimeToFirstTokenMs, CapacityStatus Capacity);

/// <summary>The local runtime's generations at once (<c>/status</c>): capacity and where it comes from (configured,
/// reported, default), held now, waiting now, and the queue's bound.</summary>
public sealed record CapacityStatus(int Parallelism, string Source, int InFlight, int Queued, int QueueLength);

public sealed record GpuStatus(IReadOnlyList<string> Hosts, bool MutualTls, bool Available, string Breaker);

public sealed record RoutingStatus(double Threshold, double UncertaintyBand, double TokenConfidenceThreshold, string Classifier);

public sealed record AgentStatus(string Server, string Version, bool Ready, LocalStatus Local, GpuStatus Gpu, RoutingStatus Routing);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(AgentStatus))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
