using System.Text.Json.Serialization;
using DataPlane.Batching.Batching;
using DataPlane.Batching.Frontend;
using DataPlane.Batching.Models;
using DataPlane.HostControl;
using DataPlane.Hosting.Listeners;
using Prometheus;

namespace DataPlane.Host.Serving;

/// <summary>The admin listener's pages: Prometheus metrics, liveness, readiness, and a JSON status
/// of every model's batcher (policy, slots, queue, what the adaptive batcher believes).</summary>
internal static class AdminEndpoints
{
    public const string Listener = "admin";

    public static void Map(WebApplication app, ModelRegistry registry, ServingState state, CollectorRegistry metrics, bool simulated)
    {
        app.MapMetrics("/metrics", metrics).OnListener(Listener);
        app.MapGet("/healthz", context => context.Response.WriteAsync("ok\n")).OnListener(Listener);
        app.MapGet("/readyz", context =>
        {
            bool ready = !state.Draining && registry.Upstream.IsAvailable;
            context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync(ready ? "ready\n"
                : state.Draining ? "draining\n" : $"upstream unavailable: {registry.Upstream.Describe()}\n");
        }).OnListener(Listener);
        app.MapGet("/status", context =>
        {
            var document = new StatusDocument(
                "dataplane",
                ServerIdentity.Version,
                state.Draining,
                new UpstreamStatus(registry.Upstream.Address.ToString(), registry.Upstream.IsAvailable, registry.Upstream.Describe(), simulated),
                [.. registry.Models.Values.Select(b => b.Snapshot()).OrderBy(s => s.Model, StringComparer.Ordinal)]);
            return context.Response.WriteAsJsonAsync(document, AdminJsonContext.Default.StatusDocument);
        }).OnListener(Listener);
    }

    /// <summary>GET /topology (what <c>dataplane topo --json</c> prints) and GET /tuning (the profile's settings as last
    /// verified); 404 with the reason when discovery is off or no profile is configured.</summary>
    public static void MapHostControl(WebApplication app, HostController control)
    {
        app.MapGet("/topology", context => WriteJsonOr404(context,
            control.Topology is { } topology ? DataPlane.Topology.Matrix.TopologyJson.Serialize(topology) : null,
            "topology discovery is off (Topology:Enabled=false)")).OnListener(Listener);
        app.MapGet("/tuning", context => WriteJsonOr404(context,
            control.TuningState is { } state ? DataPlane.Tuning.Plans.TuningJson.Serialize(state) : null,
            "no tuning profile configured (Tuning:Profile)")).OnListener(Listener);
    }

    private static Task WriteJsonOr404(HttpContext context, string? json, string whyNot)
    {
        if (json is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return context.Response.WriteAsync(whyNot + "\n");
        }

        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }
}

internal sealed record UpstreamStatus(string Address, bool Up, string Description, bool Simulated);

internal sealed record StatusDocument(string Server, string Version, bool Draining, UpstreamStatus Upstream, IReadOnlyList<BatcherSnapshot> Models);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
