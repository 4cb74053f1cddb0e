using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DataPlane.Protocol.Serving;

/// <summary>UNIMPLEMENTED for a gRPC call to a method or service that is not served, as middleware after routing
/// instead of Grpc.AspNetCore's catch-all endpoints (<c>{service}/{method}</c> and one per service), which are off
/// (<see cref="GrpcServiceOptions.IgnoreUnknownServices"/>): with them every call's route match captured two route
/// values and checked a constraint for the catch-alls (strings, a route value dictionary and candidate state, about
/// 8 % of a ModelInfer call's allocations). The answer is the one they gave: HTTP 200, <c>application/grpc</c>,
/// <c>grpc-status</c> 12 with "Method is unimplemented." for a known service and "Service is unimplemented."
/// otherwise; anything that is not a gRPC call with a <c>/service/method</c> path goes on (404).</summary>
public static class GrpcUnimplemented
{
    /// <summary>The message for an unknown method of a served service.</summary>
    public const string MethodMessage = "Method is unimplemented.";

    /// <summary>The message for a service that is not served.</summary>
    public const string ServiceMessage = "Service is unimplemented.";

    /// <summary>Sets <see cref="GrpcServiceOptions.IgnoreUnknownServices"/>, so that Grpc.AspNetCore maps no catch-all
    /// endpoints; <see cref="UseGrpcUnimplemented"/> must then run after routing.</summary>
    public static void Configure(GrpcServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.IgnoreUnknownServices = true;
    }

    /// <summary>Answers gRPC calls no endpoint matched. Call after <c>UseRouting</c>; the served services are read
    /// from <paramref name="endpoints"/>' gRPC endpoints at the first such call.</summary>
    public static IApplicationBuilder UseGrpcUnimplemented(this IApplicationBuilder app, IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = new Lazy<HashSet<string>>(() => ServedServices(endpoints));
        return app.Use(next => context =>
            context.GetEndpoint() == null && IsGrpc(context.Request.ContentType)
                && TrySplit(context.Request.Path.Value, out string service)
                ? Answer(context.Response, services.Value.Contains(service) ? MethodMessage : ServiceMessage)
                : next(context));
    }

    /// <summary>True for <c>application/grpc</c>, alone or followed by <c>+</c> or <c>;</c> (gRPC's content types).</summary>
    public static bool IsGrpc(string? contentType)
    {
        const string Grpc = "application/grpc";
        return contentType != null && contentType.StartsWith(Grpc, StringComparison.OrdinalIgnoreCase)
            && (contentType.Length == Grpc.Length || contentType[Grpc.Length] is '+' or ';');
    }

    /// <summary>The service of a <c>/service/method</c> path (two non-empty segments), as the catch-all route matched.</summary>
    private static bool TrySplit(string? path, out string service)
    {
        service = "";
        if (path is not { Length: > 1 } || path[0] != '/')
        {
            return false;
        }

        int slash = path.IndexOf('/', 1);
        if (slash <= 1 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
        {
            return false;
        }

        service = path[1..slash];
        return true;
    }

    private static HashSet<string> ServedServices(IEndpointRouteBuilder endpoints)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in endpoints.DataSources)
        {
            foreach (var endpoint in source.Endpoints)
            {
                if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc)
                {
                    names.Add(grpc.Method.ServiceName);
                }
            }
        }

        return names;
    }

    /// <summary>A trailers-only gRPC answer: the status in the response headers, no body.</summary>
    private static Task Answer(HttpResponse response, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = "12";
        response.Headers["grpc-message"] = message;
        return Task.CompletedTask;
    }
}
