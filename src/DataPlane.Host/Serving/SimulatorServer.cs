using DataPlane.Hosting.Listeners;
using DataPlane.Hosting.Logging;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Serving;

/// <summary>Hosts the simulated Triton (Triton's inference service and the gRPC health check) on its own Kestrel
/// server: as the `dataplane sim` process, or embedded in the daemon when no upstream is configured. Embedded, it
/// ignores SIGTERM and is stopped by the daemon after the daemon has drained.</summary>
public sealed partial class SimulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BoundListener _listener;

    private SimulatorServer(WebApplication app, BoundListener listener)
    {
        _app = app;
        _listener = listener;
    }

    /// <summary>The simulator's services (its <c>SimulatedTriton</c>, for tests and tools).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Where the simulator answers gRPC.</summary>
    public Uri Address => _listener.Url;

    public static async Task<SimulatorServer> StartAsync(SimulationOptions options, System.Net.IPEndPoint endPoint, bool embedded,
        IConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dataplane-sim",
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        ConsoleLogging.Configure(builder.Logging, configuration);
        if (embedded)
        {
            builder.Services.AddSingleton<IHostLifetime, NoopLifetime>();
        }
        else
        {
            builder.Host.UseSystemd();
        }

        BoundListener? bound = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.Http2.MaxStreamsPerConnection = 1024;
            k.Limits.MaxRequestBodySize = null;
            bound = ListenerSetup.Listen(k, new ListenerOptions("grpc", endPoint, HttpProtocols.Http2));
        });
        builder.Services.AddGrpc(o =>
        {
            // Triton's limit both ways: INT32_MAX bytes.
            o.MaxReceiveMessageSize = SimulationServiceCollectionExtensions.MaxMessageBytes;
            o.MaxSendMessageSize = SimulationServiceCollectionExtensions.MaxMessageBytes;
        });
        builder.Services.AddSimulatedTriton(options);

        var app = builder.Build();
        app.MapSimulatedTriton();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var server = new SimulatorServer(app, bound!);
        Log.Serving(app.Logger, options.ServerVersion, string.Join(", ", options.Models.Select(m => m.Name)), server.Address);
        return server;
    }

    /// <summary>Completes when the process is asked to stop (own-process mode).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Warning,
            Message = "Simulated Triton {Version} (a simulation, not a GPU backend) with repository models {Models} at {Address}")]
        public static partial void Serving(ILogger logger, string version, string models, Uri address);
    }
}
