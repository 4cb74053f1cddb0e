using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DataPlane.Hosting.Metrics;

/// <summary>Maps a <see cref="MetricRegistry"/> as a Prometheus scrape endpoint.</summary>
public static class MetricsEndpoint
{
    public static IEndpointConventionBuilder MapPrometheus(this IEndpointRouteBuilder app, string pattern, MetricRegistry registry) =>
        app.MapGet(pattern, context =>
        {
            context.Response.ContentType = MetricRegistry.ContentType;
            return context.Response.WriteAsync(registry.Export());
        });
}
