using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent;

/// <summary>Configuration of the edge agent, validated at start.</summary>
public sealed record AgentOptions
{
    /// <summary>The client-facing OpenAI-compatible HTTP API. Default 0.0.0.0:8080.</summary>
    public required ListenerOptions Api { get; init; }

    /// <summary>Metrics and health for operators. Default 127.0.0.1:9091.</summary>
    public required ListenerOptions Admin { get; init; }

    /// <summary>Model names this node answers locally.</summary>
    public IReadOnlyList<string> LocalModels { get; init; } = ["local-small"];

    /// <summary>Short switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--api"] = "Listen:Api",
        ["--admin"] = "Listen:Admin",
    };

    /// <summary>JSON file (--config), DATAPLANE_AGENT_ environment variables, then the command line.</summary>
    public static IConfigurationRoot Build(string[] args) => ConfigurationLayers.Build(args, "DATAPLANE_AGENT_", Switches);

    public static AgentOptions Bind(IConfiguration configuration)
    {
        var b = new ConfigBinder(configuration);
        var api = EndPoints.Parse(b.String("Listen:Api", "0.0.0.0:8080"), "Listen:Api", b);
        var admin = EndPoints.Parse(b.String("Listen:Admin", "127.0.0.1:9091"), "Listen:Admin", b);
        var models = b.Section("Local:Models").GetChildren().Select(c => c.Value ?? "").ToList();
        foreach (var (name, i) in models.Select((m, i) => (m, i)))
        {
            b.Known($"Local:Models:{i}");
            if (string.IsNullOrWhiteSpace(name))
            {
                b.Error($"Local:Models:{i}", "model name is empty");
            }
        }

        b.Known("Logging");
        b.RejectUnknownKeys("Listen", "Local");
        b.ThrowIfInvalid();
        return new AgentOptions
        {
            Api = new ListenerOptions("api", api!, HttpProtocols.Http1AndHttp2),
            Admin = new ListenerOptions("admin", admin!, HttpProtocols.Http1AndHttp2),
            LocalModels = models.Count > 0 ? models : ["local-small"],
        };
    }
}
