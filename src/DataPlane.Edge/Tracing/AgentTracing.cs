using System.Diagnostics;
using DataPlane.Edge.Api;
using DataPlane.Edge.Routing;
using DataPlane.Hosting.Tracing;

namespace DataPlane.Edge.Tracing;

/// <summary>The agent's spans (<see cref="SourceName"/>): the request span (server kind, continuing the client's
/// <c>traceparent</c>) with the routing decision and its reasons as attributes, first token, hedge and replace as
/// events; the local leg (internal) and the GPU leg (client kind, whose context goes to the GPU host as
/// <c>traceparent</c>) as its children. Attribute names follow OpenTelemetry's GenAI, RPC and HTTP semantic
/// conventions. With no listener (tracing off) nothing is allocated and every method returns null.</summary>
public static class AgentTracing
{
    /// <summary>The activity source's name, for the tracer provider.</summary>
    public const string SourceName = "DataPlane.Agent";

    /// <summary>The source: a listener exists only while tracing is on.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the request span, which becomes <see cref="Activity.Current"/>: the parent is the client's
    /// <c>traceparent</c> when it sent a valid one, else the trace starts here.</summary>
    public static Activity? StartRequest(EdgeRequest request, RoutingDecision decision)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ArgumentNullException.ThrowIfNull(request);
        string operation = request.Endpoint == EdgeEndpoint.Chat ? "chat" : "text_completion";
        var parent = request.ClientTraceParent ? TraceParent.Parse(request.TraceParent) : default;
        Activity.Current = null;
        var span = Source.StartActivity(operation + " " + request.Model, ActivityKind.Server, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("gen_ai.operation.name", operation);
            span.SetTag("gen_ai.request.model", request.Model);
            span.SetTag("http.request.method", "POST");
            span.SetTag("http.route", request.Endpoint == EdgeEndpoint.Chat ? "/v1/chat/completions" : "/v1/completions");
            if (request.MaxTokens is { } maxTokens)
            {
                span.SetTag("gen_ai.request.max_tokens", maxTokens);
            }

            span.SetTag("dataplane.route", decision.Route.ToString().ToLowerInvariant());
            span.SetTag("dataplane.route.reason", decision.Reason);
            if (decision.Score is { } score)
            {
                span.SetTag("dataplane.route.score", score);
            }

            span.SetTag("dataplane.stream", request.Stream);
        }

        return span;
    }

    /// <summary>Ends the request span with the path that answered and the HTTP status.</summary>
    public static void EndRequest(Activity? span, string path, int status, string? reason)
    {
        if (span == null)
        {
            return;
        }

        span.SetTag("dataplane.path", path);
        if (reason != null)
        {
            span.SetTag("dataplane.path.reason", reason);
        }

        span.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            span.SetStatus(ActivityStatusCode.Error);
        }

        span.Dispose();
    }

    /// <summary>Runs a side's producer inside its leg span: the local leg (internal) or the GPU leg (client kind, the
    /// current span while the GPU pool is called, so <see cref="GpuTraceParent"/> names it). The producer's own
    /// execution context holds the leg, so the other side's leg is a sibling. Unchanged when tracing is off.</summary>
    public static Func<Serving.TokenSource, CancellationToken, Task> InLeg(string side, string model,
        Func<Serving.TokenSource, CancellationToken, Task> produce)
    {
        if (Activity.Current is not { } request || !ReferenceEquals(request.Source, Source))
        {
            return produce;
        }

        return async (source, ct) =>
        {
            var leg = StartLeg(request, side, model);
            try
            {
                await produce(source, ct).ConfigureAwait(false);
                EndLeg(leg, null);
            }
            catch (Exception e)
            {
                EndLeg(leg, e);
                throw;
            }
        };
    }

    /// <summary>The <c>traceparent</c> for the GPU host when the current span is the GPU leg, else null.</summary>
    public static string? GpuTraceParent =>
        Activity.Current is { Kind: ActivityKind.Client } leg && ReferenceEquals(leg.Source, Source) ? leg.Id : null;

    private static Activity? StartLeg(Activity request, string side, string model, Uri? server = null)
    {
        bool gpu = side == "gpu";
        var span = Source.StartActivity(gpu ? "inference.GRPCInferenceService/ModelStreamInfer" : "local " + model,
            gpu ? ActivityKind.Client : ActivityKind.Internal, request.Context);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("dataplane.side", side);
            span.SetTag("gen_ai.request.model", model);
            if (gpu)
            {
                span.SetTag("rpc.system", "grpc");
                span.SetTag("rpc.service", "inference.GRPCInferenceService");
                span.SetTag("rpc.method", "ModelStreamInfer");
                if (server != null)
                {
                    span.SetTag("server.address", server.Host);
                    span.SetTag("server.port", server.Port);
                }
            }
        }

        return span;
    }

    private static void EndLeg(Activity? span, Exception? failure)
    {
        if (span == null)
        {
            return;
        }

        if (failure is OperationCanceledException)
        {
            span.SetTag("dataplane.cancelled", true);
        }
        else if (failure != null)
        {
            span.SetStatus(ActivityStatusCode.Error, failure.Message);
            span.SetTag("error.type", failure.GetType().Name);
        }

        span.Dispose();
    }

    /// <summary>Records an event (first token, hedge, replace, ...) on the current request span, if any.</summary>
    public static void Event(string name, string? side = null)
    {
        if (Activity.Current is { } span && ReferenceEquals(span.Source, Source) && span.Kind == ActivityKind.Server)
        {
            span.AddEvent(side == null
                ? new ActivityEvent(name)
                : new ActivityEvent(name, tags: new ActivityTagsCollection { ["dataplane.side"] = side }));
        }
    }
}
