using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Batching.Frontend.Http;
using DataPlane.Batching.Frontend;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Streaming;
using DataPlane.Batching.Tracing;
using DataPlane.Batching.Upstream;
using DataPlane.Host.Configuration;
using DataPlane.HostControl;
using DataPlane.Hosting.Listeners;
using DataPlane.Hosting.Logging;
using DataPlane.Hosting.Systemd;
using DataPlane.Hosting.Tracing;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Spillover;
using Microsoft.Extensions.Configuration;
using Prometheus;

namespace DataPlane.Host.Serving;

/// <summary>The `dataplane serve` daemon, composed: the gRPC front end and the admin listener on
/// one Kestrel server, the model registry with its upstream health loop, and, when no upstream is
/// configured, the embedded simulated Triton.
/// <para>Shutdown (SIGTERM, or <see cref="StopAsync"/>): health turns NOT_SERVING and new requests
/// get UNAVAILABLE; every queued request is sent at once, without windows; Kestrel waits for
/// admitted calls to be answered (up to the shutdown timeout); then the embedded simulator, if
/// any, stops.</para></summary>
public sealed partial class Daemon : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SimulatorServer? _simulator;
    private readonly BoundListener _grpc;
    private readonly BoundListener _http;
    private readonly BoundListener _admin;
    private readonly SpillService? _spill;

    private Daemon(WebApplication app, SimulatorServer? simulator, BoundListener grpc, BoundListener http, BoundListener admin, ModelRegistry registry,
        SpillService? spill, ConnectionLimits connections)
    {
        Connections = connections;
        _spill = spill;
        _app = app;
        _simulator = simulator;
        _grpc = grpc;
        _http = http;
        _admin = admin;
        Registry = registry;
    }

    private IDisposable? _tracing;

    /// <summary>Where the gRPC front end answers.</summary>
    public Uri GrpcAddress => _grpc.Url;

    /// <summary>Where the HTTP/REST front end answers.</summary>
    public Uri HttpAddress => _http.Url;

    /// <summary>Where metrics, health and status are served.</summary>
    public Uri AdminAddress => _admin.Url;

    /// <summary>The embedded simulator's address, when it is used.</summary>
    public Uri? SimulatorAddress => _simulator?.Address;

    public ModelRegistry Registry { get; }

    /// <summary>The connection cap of every listener: grpc, http, admin, and transfer for the transfer engine's listener.</summary>
    public ConnectionLimits Connections { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the daemon. Metrics go to <paramref name="metrics"/> (default: the process-wide
    /// registry; tests pass their own so several daemons can share a process).</summary>
    public static async Task<Daemon> StartAsync(DaemonOptions options, IConfiguration configuration,
        CollectorRegistry? metrics = null, CancellationToken cancellationToken = default)
    {
        metrics ??= Prometheus.Metrics.DefaultRegistry;
        SimulatorServer? simulator = null;
        var upstreamOptions = options.Upstream;
        if (options.UsesEmbeddedSimulation)
        {
            simulator = await SimulatorServer.StartAsync(options.Simulation, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
                embedded: true, configuration, cancellationToken).ConfigureAwait(false);
            upstreamOptions = upstreamOptions with { Address = simulator.Address.ToString() };
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dataplane",
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        ConsoleLogging.Configure(builder.Logging, configuration);
        // Type=notify: READY once the listeners answer, STATUS, a watchdog keep-alive gated on the dispatch threads
        // answering, STOPPING when draining begins (UseSystemd() sends only READY and STOPPING).
        builder.Services.AddSystemdNotify(sp =>
        {
            var registry = sp.GetRequiredService<ModelRegistry>();
            return new SystemdIntegrationOptions
            {
                Liveness = registry.ProbeLivenessAsync,
                Status = () => Status(registry),
            };
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);

        BoundListener? grpc = null;
        BoundListener? http = null;
        BoundListener? admin = null;
        // Caps from the descriptor limit (or configuration), so a flood on one listener never takes the descriptors the
        // others, the upstream channel and the admin listener need.
        var connections = ConnectionLimits.Create(ConnectionBudget.Daemon, options.Connections);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxMessageBytes + 1024L;
            k.Limits.Http2.MaxStreamsPerConnection = 1024;
            k.Limits.Http2.InitialConnectionWindowSize = 4 << 20;
            k.Limits.Http2.InitialStreamWindowSize = 2 << 20;
            options.Connections.ApplyTo(k);
            grpc = ListenerSetup.Listen(k, options.Grpc, connections[options.Grpc.Name]);
            http = ListenerSetup.Listen(k, options.Http, connections[options.Http.Name]);
            admin = ListenerSetup.Listen(k, options.Admin, connections[options.Admin.Name]);
        });

        var state = new ServingState();
        var batchingMetrics = new BatchingMetrics(metrics);
        builder.Services.AddListenerIsolation(options.Grpc.Name);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(batchingMetrics);
        builder.Services.AddSingleton(sp => new TritonUpstream(upstreamOptions, sp.GetRequiredService<ILogger<TritonUpstream>>(), metrics));
        // In dependency order, each built once by the container: host control (its topology places the RDMA device), the
        // spill service when the transfer engine is configured, then the registry whose batchers spill to its target.
        builder.Services.AddSingleton(sp => HostController.Start(options.HostControl, metrics,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("DataPlane.Host.Control")));
        if (options.Transfer.Enabled)
        {
            builder.Services.AddSingleton(sp => SpillService.Create(options.Transfer, sp.GetRequiredService<HostController>().Topology, metrics,
                sp.GetRequiredService<ILoggerFactory>(), connections["transfer"].TryLease));
        }

        builder.Services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<TritonUpstream>(), options.Batching, batchingMetrics,
            sp.GetRequiredService<ILoggerFactory>(), sp.GetService<SpillService>()?.Target));
        builder.Services.AddSingleton<StreamRelay>();
        builder.Services.AddSingleton(new SharedMemoryRegions());
        builder.Services.AddSingleton(options.Frontend);
        builder.Services.AddSingleton<InferenceServer>();
        builder.Services.AddSingleton(sp => new ClientAuthorizer(options.Authorization, metrics, sp.GetRequiredService<ILogger<ClientAuthorizer>>()));
        builder.Services.AddSingleton<AuthorizationInterceptor>();
        builder.Services.AddHostedService<UpstreamMonitor>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = null;
            GrpcUnimplemented.Configure(o);
            if (options.Authorization.Enabled)
            {
                // Every call is checked against the caller's grant; without mutual TLS there is no identity to check.
                o.Interceptors.Add<AuthorizationInterceptor>();
            }
        });
        // Malformed protobuf is INVALID_ARGUMENT with one rate-limited log line, not UNKNOWN and a stack trace.
        builder.Services.AddStrictGrpcService<InferenceFrontend>(GRPCInferenceService.BindService);
        builder.Services.AddStrictGrpcService<HealthFrontend>(DataPlane.Protocol.Health.Health.BindService);

        var app = builder.Build();
        ExportCertificateExpiry(metrics, grpc!, http!, admin!);
        ConnectionMetrics.Export(metrics, connections);
        ExportAllocatedBytes(metrics);
        connections.UseLogger(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DataPlane.Hosting.Connections"));
        // Host control first: an interrupted tuning apply is rolled back and hot CPUs are set before any batcher
        // thread starts (the probe below creates them).
        var hostControl = app.Services.GetRequiredService<HostController>();
        var spill = app.Services.GetService<SpillService>();
        ExportRevocation(metrics, [
            (grpc!.Listener.Name, grpc.Revocation),
            (http!.Listener.Name, http.Revocation),
            ("transfer", spill?.Revocation)]);

        var registry = app.Services.GetRequiredService<ModelRegistry>();
        var server = app.Services.GetRequiredService<InferenceServer>();
        spill?.Serve(options.Transfer, () => server);

        // Every request of the HTTP listener is the KServe HTTP front end's, ahead of routing; routing then only sees
        // the gRPC and admin listeners' literal endpoints, so a gRPC call's match captures nothing.
        var httpFrontend = HttpFrontend.Create(app.Services, server, metrics);
        string httpListener = options.Http.Name;
        app.Use(next => context => ListenerSetup.ListenerOf(context) == httpListener ? httpFrontend.HandleAsync(context) : next(context));
        app.UseRouting();
        app.UseGrpcUnimplemented(app);
        app.MapStrictGrpcService<InferenceFrontend>();
        app.MapStrictGrpcService<HealthFrontend>();
        AdminEndpoints.Map(app, registry, state, metrics, options.UsesEmbeddedSimulation);
        AdminEndpoints.MapHostControl(app, hostControl);

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DataPlane.Host");
        lifetime.ApplicationStopping.Register(() =>
        {
            Log.Draining(log, registry.Models.Values.Sum(b => b.Snapshot().QueuedRequests));
            state.BeginDrain();
            _ = registry.DrainAsync();
        });

        // Learn the models before taking traffic; a down upstream is retried by the health loop.
        await registry.ProbeAsync(cancellationToken).ConfigureAwait(false);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var daemon = new Daemon(app, simulator, grpc!, http!, admin!, registry, spill, connections)
        {
            _tracing = TracingSetup.Start(options.Tracing, "dataplane", [DaemonTracing.SourceName], log),
        };
        if (simulator != null)
        {
            Log.EmbeddedSimulation(log, simulator.Address);
        }

        Log.Started(log, daemon.GrpcAddress, daemon.HttpAddress, daemon.AdminAddress, registry.Upstream.Describe(), registry.Models.Count);
        if (options.Authorization.Enabled)
        {
            Log.Authorization(log, options.Authorization.Clients.Count, options.Authorization.Default.ToString());
        }

        return daemon;
    }

    /// <summary>dotnet_gc_heap_total_allocated_bytes_total: bytes allocated on the managed heap since the process started
    /// (OpenTelemetry's runtime metric <c>dotnet.gc.heap.total_allocated</c> as Prometheus names it), read at each
    /// scrape. Its growth over a benchmark step divided by the requests answered is the bench's allocations per
    /// request.</summary>
    private static void ExportAllocatedBytes(CollectorRegistry metrics)
    {
        var allocated = Prometheus.Metrics.WithCustomRegistry(metrics).CreateCounter("dotnet_gc_heap_total_allocated_bytes_total",
            "Bytes allocated on the managed GC heap since the process started.");
        metrics.AddBeforeCollectCallback(() => allocated.IncTo(GC.GetTotalAllocatedBytes(precise: true)));
    }

    /// <summary>dataplane_tls_certificate_expiry_timestamp_seconds{certificate}: when the certificate each TLS listener
    /// serves stops being valid, read at each scrape so that a rotated file shows as soon as it is picked up.</summary>
    private static void ExportCertificateExpiry(CollectorRegistry metrics, params BoundListener[] listeners)
    {
        var tls = listeners.Where(l => l.Certificate != null).ToArray();
        if (tls.Length == 0)
        {
            return;
        }

        var expiry = Prometheus.Metrics.WithCustomRegistry(metrics).CreateGauge("dataplane_tls_certificate_expiry_timestamp_seconds",
            "When the certificate a TLS listener serves stops being valid, in Unix seconds, by listener name.", "certificate");
        metrics.AddBeforeCollectCallback(() =>
        {
            foreach (var listener in tls)
            {
                expiry.WithLabels(listener.Listener.Name).Set(listener.Certificate!.NotAfterUnixSeconds);
            }
        });
    }

    /// <summary>The revocation lists of the TLS listeners that check one (<c>Listen:Tls:Crl</c>), read at each scrape (which
    /// also picks up a changed file): dataplane_tls_crl_revoked_certificates{tls}, dataplane_tls_crl_next_update_timestamp_seconds{tls},
    /// dataplane_tls_revoked_handshakes_total{tls} and dataplane_tls_crl_reload_failures_total{tls}.</summary>
    private static void ExportRevocation(CollectorRegistry metrics, IEnumerable<(string Name, RevocationListReloader? Reloader)> lists)
    {
        var checking = lists.Where(l => l.Reloader != null).ToArray();
        if (checking.Length == 0)
        {
            return;
        }

        var factory = Prometheus.Metrics.WithCustomRegistry(metrics);
        var entries = factory.CreateGauge("dataplane_tls_crl_revoked_certificates",
            "Certificates the revocation list in use names, by TLS listener.", "tls");
        var nextUpdate = factory.CreateGauge("dataplane_tls_crl_next_update_timestamp_seconds",
            "When the revocation list in use should be replaced by a fresher one (its nextUpdate), in Unix seconds, by TLS listener; 0 when it gives none.",
            "tls");
        var refused = factory.CreateCounter("dataplane_tls_revoked_handshakes_total",
            "TLS handshakes refused because the client certificate is revoked, by listener.", "tls");
        var failures = factory.CreateCounter("dataplane_tls_crl_reload_failures_total",
            "Changed revocation list files that did not load or verify (the previous list stayed in use), by listener.", "tls");
        metrics.AddBeforeCollectCallback(() =>
        {
            foreach (var (name, reloaderOrNull) in checking)
            {
                var reloader = reloaderOrNull!;
                var list = reloader.Current;
                entries.WithLabels(name).Set(list.Count);
                nextUpdate.WithLabels(name).Set(list.NextUpdate?.ToUnixTimeSeconds() ?? 0);
                refused.WithLabels(name).IncTo(reloader.Refused);
                failures.WithLabels(name).IncTo(reloader.Failures);
            }
        });
    }

    /// <summary>The systemd STATUS= line.</summary>
    private static string Status(ModelRegistry registry)
    {
        int queued = registry.Models.Values.Sum(b => b.Snapshot().QueuedRequests);
        return $"serving {registry.Models.Count} model(s), upstream {(registry.Upstream.IsAvailable ? "up" : "down")}, queued {queued}";
    }

    /// <summary>Completes when the daemon has stopped (SIGTERM or <see cref="StopAsync"/>) and drained.</summary>
    public async Task WaitForShutdownAsync()
    {
        await _app.WaitForShutdownAsync().ConfigureAwait(false);
        await StopCompanionsAsync().ConfigureAwait(false);
    }

    /// <summary>Drains and stops.</summary>
    public async Task StopAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await StopCompanionsAsync().ConfigureAwait(false);
    }

    /// <summary>Where peers spill batches to this daemon, when it takes them.</summary>
    public System.Net.IPEndPoint? TransferAddress => _spill?.ListenEndPoint;

    private async Task StopCompanionsAsync()
    {
        // Flushes the spans of the last requests.
        Interlocked.Exchange(ref _tracing, null)?.Dispose();
        if (_spill is not null)
        {
            await _spill.DisposeAsync().ConfigureAwait(false);
        }

        if (_simulator != null)
        {
            await _simulator.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        // Disposing the application disposes the registry (a DI singleton) and its batchers.
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information,
            Message = "dataplane serving KServe v2 gRPC at {Grpc} and HTTP at {Http}, admin (metrics, health, status) at {Admin}; upstream: {Upstream}; {Models} model(s)")]
        public static partial void Started(ILogger logger, Uri grpc, Uri http, Uri admin, string upstream, int models);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning,
            Message = "No upstream configured (Upstream:Address): serving from the embedded SIMULATED Triton at {Address}. Set Upstream:Address to Triton's gRPC address (e.g. http://127.0.0.1:8001) for real inference")]
        public static partial void EmbeddedSimulation(ILogger logger, Uri address);

        [LoggerMessage(EventId = 102, Level = LogLevel.Information,
            Message = "Stopping: draining, refusing new requests, sending {Queued} queued request(s) at once")]
        public static partial void Draining(ILogger logger, int queued);

        [LoggerMessage(EventId = 103, Level = LogLevel.Information,
            Message = "Per-client authorization on (mutual TLS): {Rules} client rule(s); clients without a rule may use {Default}")]
        public static partial void Authorization(ILogger logger, int rules, string @default);
    }
}
