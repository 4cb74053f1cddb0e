using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Batching.Frontend.Load;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>The KServe v2 / Triton HTTP/REST front end (Triton's port 8000 protocol): one handler that routes every
/// path as Triton does and answers from <see cref="InferenceServer"/>, so HTTP requests enter the same batchers as gRPC
/// ones. Bodies, status codes, headers and error texts are Triton's; errors are <c>{"error":"&lt;message&gt;"}</c> with
/// the HTTP status of the error's code (<see cref="InferenceServer.HttpStatusOf"/>). docs/HTTP.md describes it.</summary>
public sealed partial class HttpFrontend
{
    private const string JsonType = "application/json";

    private readonly InferenceServer _server;
    private readonly HttpFrontendMetrics _metrics;
    private readonly ILogger _log;
    private readonly long _maxInput;
    private readonly ClientAuthorizer? _authorizer;

    /// <param name="server">What answers.</param>
    /// <param name="metrics">Where the front end's metrics go.</param>
    /// <param name="log">Unexpected failures.</param>
    /// <param name="authorizer">Per-client authorization (null or disabled: every client may do everything).</param>
    public HttpFrontend(InferenceServer server, CollectorRegistry? metrics, ILogger<HttpFrontend> log, ClientAuthorizer? authorizer = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _server = server;
        _metrics = new HttpFrontendMetrics(metrics);
        _log = log;
        _maxInput = server.Options.HttpMaxInputBytes;
        _authorizer = authorizer is { Enabled: true } ? authorizer : null;
    }

    /// <summary>The front end, to answer every request of its listener with <see cref="HandleAsync"/> (Triton's own
    /// routing, <see cref="HttpRoute"/>). The daemon runs it as middleware ahead of endpoint routing rather than as a
    /// catch-all endpoint: a catch-all is a candidate of every route match, on every listener, and made each gRPC call
    /// capture its path.</summary>
    public static HttpFrontend Create(IServiceProvider services, InferenceServer server, CollectorRegistry? metrics)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new HttpFrontend(server, metrics, services.GetRequiredService<ILogger<HttpFrontend>>(), services.GetService<ClientAuthorizer>());
    }

    /// <summary>Answers one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = HttpRoute.Match(PathOf(context));
        try
        {
            Authorize(context, route);
            await DispatchAsync(context, route).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await FailAsync(context, InferenceServer.HttpStatusOf(e.StatusCode), e.Status.Detail).ConfigureAwait(false);
        }
        catch (HttpFailure e)
        {
            await FailAsync(context, e.Status, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // The body broke off or passed Kestrel's limit (Limits:MaxMessageBytes).
            await FailAsync(context, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (a cancelled read or a reset connection): there is no one to answer.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.Failed(_log, e, context.Request.Method, route.Kind.ToString());
            await FailAsync(context, StatusCodes.Status500InternalServerError, $"unexpected error: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            _metrics.Answered(route.Kind, context.Response.StatusCode);
        }
    }

    private Task DispatchAsync(HttpContext context, HttpRoute route) => route.Kind switch
    {
        RouteKind.ServerMetadata => ServerMetadataAsync(context),
        RouteKind.Health => HealthAsync(context, route),
        RouteKind.ModelMetadata => ModelMetadataAsync(context, route),
        RouteKind.ModelReady => ModelReadyAsync(context, route),
        RouteKind.ModelConfig => ModelConfigAsync(context, route),
        RouteKind.ModelStatistics => StatisticsAsync(context, route),
        RouteKind.Infer => InferAsync(context, route),
        RouteKind.Generate => GenerateAsync(context),
        RouteKind.ModelTrace or RouteKind.Trace => TraceAsync(context, route),
        RouteKind.RepositoryIndex => RepositoryIndexAsync(context),
        RouteKind.RepositoryControl => RepositoryControlAsync(context, route),
        RouteKind.SystemSharedMemory => SystemSharedMemoryAsync(context, route),
        RouteKind.CudaSharedMemory => CudaSharedMemoryAsync(context, route),
        RouteKind.Logging => LoggingAsync(context),
        _ => throw new HttpFailure(StatusCodes.Status404NotFound, "Not Found"),
    };

    private Task HealthAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Get);
        bool up = route.Action == "live" ? _server.IsLive : _server.IsReady;
        context.Response.StatusCode = up ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private Task ServerMetadataAsync(HttpContext context)
    {
        context.Response.Headers[ServerIdentity.Header] = ServerIdentity.Value;
        RequireMethod(context, HttpMethods.Get);
        return WriteJsonAsync(context, ServerJson.ServerMetadata(_server.ServerMetadata()));
    }

    private Task ModelMetadataAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Get);
        RequireModel(route, "ModelMetadata");
        return WriteJsonAsync(context, ServerJson.ModelMetadata(_server.ModelMetadata(route.Model, route.Version)));
    }

    private async Task ModelReadyAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Get);
        RequireModel(route, "ModelReady");
        if (!await _server.ModelReadyAsync(route.Model, route.Version, DateTime.MaxValue, context.RequestAborted).ConfigureAwait(false))
        {
            throw new HttpFailure(StatusCodes.Status400BadRequest, "Model version not ready");
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
        LoadReport.AddTo(context.Response, _server, route.Model);
    }

    /// <summary>GET <c>/v2/models/&lt;m&gt;[/versions/&lt;v&gt;]/config</c>: the configuration as Triton prints it (proto
    /// field names, every field printed, 64-bit integers as numbers; an all-default configuration an empty body).</summary>
    private Task ModelConfigAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Get);
        if (route.Model.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Missing model name in ModelConfig request"));
        }

        var config = _server.ModelConfig(route.Model, route.Version).Config ?? new ModelConfig();
        return WriteJsonAsync(context, TritonModelConfigJson.Write(config));
    }

    private Task StatisticsAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Get);
        var statistics = _server.ModelStatistics(route.Model, route.Version);
        CallerOf(context).Filter(statistics);
        return WriteJsonAsync(context, ServerJson.Statistics(statistics));
    }

    private Task GenerateAsync(HttpContext context)
    {
        RequireMethod(context, HttpMethods.Post);
        throw new RpcException(new Status(StatusCode.Unimplemented,
            "the generate extension is not served by DataPlane; use the model's infer endpoint"));
    }

    /// <summary>POST <c>/v2/models/&lt;m&gt;[/versions/&lt;v&gt;]/infer</c>: the model and its transaction policy first,
    /// then the body (decompressed when it is), the request into the model's batcher, and the answer (compressed when
    /// the client accepts it).</summary>
    private async Task InferAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Post);
        var batcher = _server.Resolve(route.Model, route.Version);
        var model = batcher.Model;
        if (!model.ServesVersion(route.Version))
        {
            throw TritonErrors.UnknownVersion(route.Model, route.Version);
        }

        if (model.Decoupled)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, TritonErrors.DecoupledHttp));
        }

        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var coding = HttpCompression.OfRequest(First(request.Headers.ContentEncoding));
        if (coding == ContentCoding.Unsupported)
        {
            context.Response.Headers.AcceptEncoding = "gzip, deflate";
            throw new RpcException(new Status(StatusCode.Unimplemented, "Unsupported compression type"));
        }

        var answerCoding = HttpCompression.OfAnswer(First(request.Headers.AcceptEncoding));
        var body = coding == ContentCoding.Identity
            ? RequestBody.FromPipe(request.BodyReader, request.ContentLength)
            : await RequestBody.DecompressAsync(request.Body, _maxInput, cancellationToken).ConfigureAwait(false);
        var plan = await InferRequestReader.ReadAsync(First(request.Headers[InferRequestReader.HeaderLengthHeader]), body, model,
            route.Model, route.Version, _maxInput, cancellationToken).ConfigureAwait(false);
        ModelInferResponse response;
        using (var span = Tracing.DaemonTracing.StartHttpServer(HttpMethods.Post, "/v2/models/{model}/infer",
            First(request.Headers[Tracing.DaemonTracing.TraceParentHeader]), First(request.Headers["tracestate"])))
        {
            span?.SetTag("dataplane.model", route.Model);
            try
            {
                response = await _server.InferAsync(plan.Request, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
                span?.SetTag("http.response.status_code", StatusCodes.Status200OK);
            }
            catch (RpcException e) when (span != null)
            {
                span.SetTag("http.response.status_code", InferenceServer.HttpStatusOf(e.StatusCode));
                span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Status.Detail);
                throw;
            }
            finally
            {
                LoadReport.AddTo(context.Response, _server, route.Model);
            }
        }

        var answer = InferResponseWriter.Write(response, plan, model.Version);

        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        if (answer.Blobs.Count > 0)
        {
            http.ContentType = "application/octet-stream";
            http.Headers[InferRequestReader.HeaderLengthHeader] = answer.Json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            http.ContentType = JsonType;
        }

        if (answerCoding is ContentCoding.Gzip or ContentCoding.Deflate)
        {
            byte[] compressed = HttpCompression.Compress(answer, answerCoding);
            http.Headers.ContentEncoding = HttpCompression.Name(answerCoding);
            http.ContentLength = compressed.Length;
            await http.Body.WriteAsync(compressed, cancellationToken).ConfigureAwait(false);
            return;
        }

        http.ContentLength = answer.Length;
        await http.Body.WriteAsync(answer.Json, cancellationToken).ConfigureAwait(false);
        foreach (var blob in answer.Blobs)
        {
            await http.Body.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The path as the client sent it (Triton matches the raw path; segments are decoded by the router).</summary>
    private static string PathOf(HttpContext context)
    {
        string? raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is { Length: > 0 } && raw[0] == '/')
        {
            int query = raw.IndexOf('?', StringComparison.Ordinal);
            return query < 0 ? raw : raw[..query];
        }

        return context.Request.PathBase.Add(context.Request.Path).ToUriComponent();
    }

    private static string? First(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 0 ? null : values[0];

    private static void RequireMethod(HttpContext context, string method)
    {
        if (!string.Equals(context.Request.Method, method, StringComparison.Ordinal))
        {
            throw new HttpFailure(StatusCodes.Status405MethodNotAllowed, "Method Not Allowed");
        }
    }

    private static void RequireModel(HttpRoute route, string rpc)
    {
        if (route.Model.Length == 0)
        {
            throw new HttpFailure(StatusCodes.Status400BadRequest, $"Missing model name in {rpc} request");
        }
    }

    private static Task WriteJsonAsync(HttpContext context, byte[] json)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonType;
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json, context.RequestAborted).AsTask();
    }

    /// <summary>An empty 200 answer of a JSON endpoint (load, unload, register, unregister).</summary>
    private static void WriteEmpty(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = JsonType;
        context.Response.ContentLength = 0;
    }

    private static async Task FailAsync(HttpContext context, int status, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return;
        }

        byte[] body = ServerJson.Error(message);
        response.StatusCode = status;
        response.ContentType = JsonType;
        response.ContentLength = body.Length;
        response.Headers.ContentEncoding = default;
        response.Headers.Remove(InferRequestReader.HeaderLengthHeader);
        try
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client is gone.
        }
    }

    /// <summary>An answer with a status of its own rather than one mapped from a gRPC code (404, 405, a readiness 400).</summary>
    private sealed class HttpFailure(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5100, Level = LogLevel.Error, Message = "HTTP {Method} request to a {Endpoint} endpoint failed unexpectedly")]
        public static partial void Failed(ILogger logger, Exception exception, string method, string endpoint);
    }
}
