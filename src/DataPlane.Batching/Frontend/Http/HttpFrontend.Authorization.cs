using DataPlane.Batching.Frontend.Authorization;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>Per-client authorization of HTTP/REST requests: the same operation groups as the gRPC calls they mirror
/// (<see cref="AuthorizationInterceptor.Classify"/>), refused 403 <c>{"error":"client '…' is not granted … on model
/// '…'"}</c> before the request is read.</summary>
public sealed partial class HttpFrontend
{
    private Caller CallerOf(HttpContext context) => _authorizer?.Identify(context) ?? Caller.Anyone;

    private void Authorize(HttpContext context, HttpRoute route)
    {
        if (_authorizer == null)
        {
            return;
        }

        string? model = route.Model.Length > 0 ? route.Model : null;
        var operation = route.Kind switch
        {
            RouteKind.Infer or RouteKind.Generate => ClientOperations.Inference,
            RouteKind.ServerMetadata or RouteKind.ModelMetadata or RouteKind.ModelReady or RouteKind.ModelConfig or RouteKind.RepositoryIndex =>
                ClientOperations.Metadata,
            RouteKind.ModelStatistics => ClientOperations.Statistics,
            RouteKind.RepositoryControl => ClientOperations.Control,
            RouteKind.SystemSharedMemory or RouteKind.CudaSharedMemory => ClientOperations.SharedMemory,
            RouteKind.ModelTrace or RouteKind.Trace or RouteKind.Logging => ClientOperations.Settings,
            _ => ClientOperations.None, // health, and paths that are not found anyway
        };
        CallerOf(context).Demand(operation, model);
    }
}
