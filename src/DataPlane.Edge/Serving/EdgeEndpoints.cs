using System.Buffers;
using System.Text.Json;
using DataPlane.Edge.Api;
using DataPlane.Edge.Contract;
using DataPlane.Hosting.Listeners;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Serving;

/// <summary>The agent's HTTP API: OpenAI-compatible completions and models on the API listener.
/// Bad input is answered 400/404/413/415 in OpenAI's error shape naming the field; a request that
/// neither the local runtime nor the GPU pool can answer gets 503; one the local runtime has no room for while the GPU
/// pool cannot take it gets 429 with <c>Retry-After</c> (OpenAI's rate-limit shape); nothing a client sends yields 500.
/// With bearer keys configured (<see cref="ApiKeySet"/>), a missing or unknown key gets 401 before the body is read,
/// a model outside the key's list 403, and <c>/v1/models</c> lists the key's models; <c>/healthz</c> and
/// <c>/readyz</c> stay open.</summary>
public static partial class EdgeEndpoints
{
    public static void Map(IEndpointRouteBuilder app, EdgeService service, EdgeMetrics metrics, EdgeHealth health, string apiListener, ILogger logger,
        TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        app.MapPost("/v1/chat/completions", context => HandleAsync(context, EdgeEndpoint.Chat, service, metrics, logger, clock)).OnListener(apiListener);
        app.MapPost("/v1/completions", context => HandleAsync(context, EdgeEndpoint.Completion, service, metrics, logger, clock)).OnListener(apiListener);
        app.MapGet("/v1/models", async context =>
        {
            var check = await AuthenticateAsync(context, service.Options.ApiKeys, metrics).ConfigureAwait(false);
            if (check.Error != null)
            {
                return;
            }

            long created = clock.GetUtcNow().ToUnixTimeSeconds();
            var models = service.Options.LocalModels.Select(m => new ModelEntry(m, "model", created, "dataplane-agent:local"))
                .Concat(service.Options.GpuModels.Select(m => new ModelEntry(m, "model", created, "dataplane-agent:gpu")))
                .Where(m => check.Key?.Allows(m.Id) ?? true).ToList();
            await context.Response.WriteAsJsonAsync(new ModelList("list", models), OpenAiJsonContext.Default.ModelList).ConfigureAwait(false);
        }).OnListener(apiListener);
        app.MapGet("/healthz", context => context.Response.WriteAsync("ok\n")).OnListener(apiListener);
        app.MapGet("/readyz", context =>
        {
            bool ready = health.CanAnswer;
            context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync(ready ? "ready\n" : $"not ready: {health.Describe()}\n");
        }).OnListener(apiListener);
    }

    private static async Task HandleAsync(HttpContext context, EdgeEndpoint endpoint, EdgeService service, EdgeMetrics metrics, ILogger logger,
        TimeProvider time)
    {
        long arrived = time.GetTimestamp();
        var ct = context.RequestAborted;
        // A request without a valid key is answered before its body is read.
        var key = await AuthenticateAsync(context, service.Options.ApiKeys, metrics).ConfigureAwait(false);
        if (key.Error != null)
        {
            return;
        }

        var (body, error) = await ReadBodyAsync(context, service.Options.MaxRequestBytes, ct).ConfigureAwait(false);
        try
        {
            if (ReferenceEquals(error, ClientGone))
            {
                // The client reset the stream or closed the connection mid-body: nobody to answer.
                return;
            }

            if (error != null)
            {
                await WriteErrorAsync(context, error, metrics).ConfigureAwait(false);
                return;
            }

            var headers = new RequestParser.Headers(
                context.Request.Headers[EdgeHeaders.Mode].FirstOrDefault(),
                context.Request.Headers[EdgeHeaders.Replace].FirstOrDefault(),
                context.Request.Headers[EdgeHeaders.Slo].FirstOrDefault(),
                context.Request.Headers["traceparent"].FirstOrDefault());
            var span = body.AsSpan(0, body.Length);
            error = endpoint == EdgeEndpoint.Chat
                ? RequestParser.TryParseChat(span.Slice(0, BodyLength(context, body)), headers, out var request)
                : RequestParser.TryParseCompletion(span.Slice(0, BodyLength(context, body)), headers, out request);
            if (error == null && key.Key is { } apiKey && !apiKey.Allows(request.Model))
            {
                metrics.AuthorizationDenied.WithLabels(apiKey.Name, "model").Inc();
                error = ApiKeySet.ModelNotAllowed(apiKey, request.Model);
            }

            if (error == null && !service.Options.Serves(request.Model))
            {
                error = ApiError.ModelNotFound(request.Model, service.Options.LocalModels.Concat(service.Options.GpuModels));
            }

            if (error != null)
            {
                await WriteErrorAsync(context, error, metrics).ConfigureAwait(false);
                return;
            }

            var decision = service.Decide(request);
            metrics.Hops.WithLabels("client_agent").Observe(time.GetElapsedTime(arrived).TotalSeconds);
            var id = AnswerIdentity.For(request, time);
            IAnswerSink sink = request.Stream
                ? new SseAnswerSink(context.Response, id, request.IncludeUsage)
                : new JsonAnswerSink(context.Response, id);
            try
            {
                await service.ServeAsync(request, decision, sink, arrived, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away; its sides were cancelled with it.
            }
            catch (LocalBusyException busy) when (!ct.IsCancellationRequested && !context.Response.HasStarted)
            {
                // Nothing was sent (a refusal comes before either side starts): 429, stream or not, with the estimate
                // in whole seconds (Retry-After) and in milliseconds (retry-after-ms, which OpenAI's SDKs also read).
                context.Response.Headers.RetryAfter = busy.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers["retry-after-ms"] =
                    Math.Max(1, (long)Math.Ceiling(busy.RetryAfter.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, ApiError.RateLimited(busy.Message), metrics).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                Log.ServeFailed(logger, request.Model, e.Message);
                var failure = e is EdgeUnavailableException
                    ? ApiError.Unavailable(e.Message)
                    : new ApiError(StatusCodes.Status502BadGateway, $"the answer failed midway: {e.Message}", "server_error", null, "upstream_error");
                if (!sink.Started && !context.Response.HasStarted)
                {
                    await WriteErrorAsync(context, failure, metrics).ConfigureAwait(false);
                }
                else if (request.Stream)
                {
                    await WriteStreamErrorAsync(context, failure).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested && !context.Response.HasStarted && e is not OperationCanceledException)
        {
            // A bug, not the client's doing: still an answer in OpenAI's shape rather than an empty 500.
            Log.Unexpected(logger, e);
            await WriteErrorAsync(context, new ApiError(StatusCodes.Status500InternalServerError,
                $"internal error ({e.GetType().Name}); the request was not served", "server_error", null, "internal_error"), metrics).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>The read-body outcome for a client that went away mid-body.</summary>
    private static readonly ApiError ClientGone = new(499, "client closed the request", "invalid_request_error");

    private static int BodyLength(HttpContext context, byte[] body) => (int)(context.Items["dataplane.bodyLength"] as int? ?? 0);

    /// <summary>Reads the body into a pooled buffer, refusing a wrong content type (415) and anything over
    /// <paramref name="limit"/> bytes (413) without reading it all.</summary>
    private static async Task<(byte[] Buffer, ApiError? Error)> ReadBodyAsync(HttpContext context, long limit, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        var request = context.Request;
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (buffer, new ApiError(StatusCodes.Status415UnsupportedMediaType, $"Content-Type must be application/json, not '{type}'",
                "invalid_request_error", "Content-Type"));
        }

        if (request.ContentLength > limit)
        {
            return (buffer, ApiError.TooLarge(limit));
        }

        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > limit)
                    {
                        return (buffer, ApiError.TooLarge(limit));
                    }

                    byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                int n = await request.Body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                length += n;
                if (length > limit)
                {
                    return (buffer, ApiError.TooLarge(limit));
                }
            }
        }
        catch (BadHttpRequestException e)
        {
            return (buffer, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? ApiError.TooLarge(limit) : ApiError.Invalid(e.Message));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return (buffer, ClientGone);
        }

        context.Items["dataplane.bodyLength"] = length;
        return (buffer, null);
    }

    /// <summary>Checks the request's bearer key when keys are required; on failure answers 401 (with
    /// <c>WWW-Authenticate: Bearer</c>) and counts the denial.</summary>
    private static async Task<ApiKeyCheck> AuthenticateAsync(HttpContext context, ApiKeySet keys, EdgeMetrics metrics)
    {
        var check = keys.Check(context.Request.Headers.Authorization);
        if (check.Error != null)
        {
            metrics.AuthorizationDenied.WithLabels(check.Reason == "missing_key" ? "none" : "unknown", check.Reason!).Inc();
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"dataplane-agent\"";
            await WriteErrorAsync(context, check.Error, metrics).ConfigureAwait(false);
        }

        return check;
    }

    private static async Task WriteErrorAsync(HttpContext context, ApiError error, EdgeMetrics metrics)
    {
        metrics.Rejected.WithLabels(error.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        context.Response.StatusCode = error.Status;
        await context.Response.WriteAsJsonAsync(error.ToBody(), OpenAiJsonContext.Default.ErrorResponse).ConfigureAwait(false);
    }

    /// <summary>An error after a stream started: an SSE event carrying OpenAI's error object, then [DONE].</summary>
    private static async Task WriteStreamErrorAsync(HttpContext context, ApiError error)
    {
        try
        {
            await context.Response.WriteAsync("data: ").ConfigureAwait(false);
            await JsonSerializer.SerializeAsync(context.Response.Body, error.ToBody(), OpenAiJsonContext.Default.ErrorResponse).ConfigureAwait(false);
            await context.Response.WriteAsync("\n\ndata: [DONE]\n\n").ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client is gone.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4263, Level = LogLevel.Warning, Message = "Request for model {Model} failed: {Error}")]
        public static partial void ServeFailed(ILogger logger, string model, string error);

        [LoggerMessage(EventId = 4264, Level = LogLevel.Error, Message = "Unexpected failure while handling an API request; answered 500")]
        public static partial void Unexpected(ILogger logger, Exception exception);
    }
}
