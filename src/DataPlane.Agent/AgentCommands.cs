using System.Text.Json.Serialization;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Hosting.Logging;
using Prometheus;

namespace DataPlane.Agent;

/// <summary>Verbs of `dataplane-agent` and its serving composition. This build is the serving
/// skeleton: OpenAI-style model listing, health and metrics on their own listeners; routing,
/// local runtimes and GPU escalation come with the edge issue.</summary>
public static partial class AgentCommands
{
    public const string Usage = """
        dataplane-agent — DataPlane edge agent for Raspberry Pi nodes

        Usage:
          dataplane-agent [serve] [--config FILE] [--api HOST:PORT] [--admin HOST:PORT]
          dataplane-agent version

        Listeners: the client API (default 0.0.0.0:8080: GET /v1/models, /healthz, /readyz) and the
        admin listener (default 127.0.0.1:9091: /metrics, /healthz). Environment variables
        DATAPLANE_AGENT_<Section>__<Key> set any configuration key.
        """;

    public static string Version { get; } = typeof(AgentCommands).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        string[] rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        try
        {
            switch (verb)
            {
                case "serve" when !rest.Contains("--help"):
                    var configuration = AgentOptions.Build(rest);
                    var options = AgentOptions.Bind(configuration);
                    await using (var app = await StartAsync(options, configuration).ConfigureAwait(false))
                    {
                        await app.WaitForShutdownAsync().ConfigureAwait(false);
                    }

                    return 0;
                case "version" or "--version":
                    Console.WriteLine($"dataplane-agent {Version}");
                    return 0;
                case "serve" or "help" or "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"dataplane-agent: unknown verb '{verb}'\n\n{Usage}").ConfigureAwait(false);
                    return 2;
            }
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"dataplane-agent: {e.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>Starts the agent's listeners and returns the running application.</summary>
    public static async Task<WebApplication> StartAsync(AgentOptions options, IConfiguration configuration, CollectorRegistry? metrics = null)
    {
        metrics ??= Prometheus.Metrics.DefaultRegistry;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dataplane-agent",
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        ConsoleLogging.Configure(builder.Logging, configuration);
        builder.Host.UseSystemd();
        BoundListener? api = null;
        BoundListener? admin = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            api = ListenerSetup.Listen(k, options.Api);
            admin = ListenerSetup.Listen(k, options.Admin);
        });

        var app = builder.Build();
        app.UseRouting();
        app.UseListenerIsolation(options.Api.Name);
        var models = new ModelList("list", [.. options.LocalModels.Select(m => new ModelEntry(m, "model", 0, "dataplane-agent"))]);
        app.MapGet("/v1/models", context => context.Response.WriteAsJsonAsync(models, AgentJsonContext.Default.ModelList));
        app.MapGet("/healthz", context => context.Response.WriteAsync("ok\n"));
        app.MapGet("/readyz", context => context.Response.WriteAsync("ready\n"));
        app.MapMetrics("/metrics", metrics).OnListener(options.Admin.Name);
        app.MapGet("/admin/healthz", context => context.Response.WriteAsync("ok\n")).OnListener(options.Admin.Name);
        await app.StartAsync().ConfigureAwait(false);
        Log.Started(app.Logger, api!.Url, admin!.Url, string.Join(", ", options.LocalModels));
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "dataplane-agent serving the API at {Api}, admin at {Admin}; local models: {Models}")]
        public static partial void Started(ILogger logger, Uri api, Uri admin, string models);
    }
}

/// <summary>One entry of GET /v1/models, in OpenAI's shape.</summary>
public sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

/// <summary>GET /v1/models response.</summary>
public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data);

[JsonSerializable(typeof(ModelList))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
