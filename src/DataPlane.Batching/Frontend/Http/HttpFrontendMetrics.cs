using System.Globalization;
using Prometheus;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>dataplane_http_requests_total{endpoint,code}: requests the HTTP/REST front end answered, by the kind of
/// endpoint their path named and the HTTP status they got.</summary>
internal sealed class HttpFrontendMetrics
{
    private readonly Counter _requests;

    public HttpFrontendMetrics(CollectorRegistry? registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.DefaultRegistry);
        _requests = factory.CreateCounter("dataplane_http_requests_total",
            "Requests answered by the KServe v2 HTTP/REST front end, by endpoint kind (health, server_metadata, model_metadata, model_ready, " +
            "model_config, statistics, infer, generate, repository, system_shared_memory, cuda_shared_memory, trace, logging, not_found) " +
            "and HTTP status code.",
            ["endpoint", "code"]);
    }

    public void Answered(RouteKind kind, int status) =>
        _requests.WithLabels(EndpointOf(kind), status.ToString(CultureInfo.InvariantCulture)).Inc();

    /// <summary>The endpoint label of a route.</summary>
    public static string EndpointOf(RouteKind kind) => kind switch
    {
        RouteKind.ServerMetadata => "server_metadata",
        RouteKind.Health => "health",
        RouteKind.ModelMetadata => "model_metadata",
        RouteKind.ModelReady => "model_ready",
        RouteKind.ModelConfig => "model_config",
        RouteKind.ModelStatistics => "statistics",
        RouteKind.Infer => "infer",
        RouteKind.Generate => "generate",
        RouteKind.ModelTrace or RouteKind.Trace => "trace",
        RouteKind.RepositoryIndex or RouteKind.RepositoryControl => "repository",
        RouteKind.SystemSharedMemory => "system_shared_memory",
        RouteKind.CudaSharedMemory => "cuda_shared_memory",
        RouteKind.Logging => "logging",
        _ => "not_found",
    };
}
