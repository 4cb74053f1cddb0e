using System.Diagnostics;
using DataPlane.Batching.Queueing;
using Grpc.Core;

namespace DataPlane.Batching.Tracing;

/// <summary>The daemon's spans (<see cref="SourceName"/>): the server span of each inference call (continuing the
/// caller's <c>traceparent</c>), each request's queue wait, a batch's own span linked to every member request, and the
/// upstream call to Triton (client), whose context travels to Triton as <c>traceparent</c>. Attribute names follow
/// OpenTelemetry's RPC and HTTP semantic conventions. With no listener (tracing off) every method returns null
/// without allocating.</summary>
public static class DaemonTracing
{
    /// <summary>The activity source's name, for the tracer provider.</summary>
    public const string SourceName = "DataPlane.Daemon";

    /// <summary>The gRPC service every inference RPC belongs to.</summary>
    public const string RpcService = "inference.GRPCInferenceService";

    /// <summary>The source: a listener exists only while tracing is on.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The W3C Trace Context header (gRPC metadata and HTTP).</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>True when spans are recorded (a tracer provider listens).</summary>
    public static bool Enabled => Source.HasListeners();

    /// <summary>The context of the current span when it is one of ours (a request's server span), else default.</summary>
    public static ActivityContext CurrentContext =>
        Activity.Current is { } current && ReferenceEquals(current.Source, Source) && current.Recorded ? current.Context : default;

    /// <summary>The server span of a gRPC call (<c>ModelInfer</c>, <c>ModelStreamInfer</c>), continuing the caller's
    /// <c>traceparent</c> metadata; null when tracing is off or the span is not sampled.</summary>
    public static Activity? StartGrpcServer(string method, ServerCallContext context)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ArgumentNullException.ThrowIfNull(context);
        var parent = Parse(context.RequestHeaders.GetValue(TraceParentHeader), context.RequestHeaders.GetValue("tracestate"));
        // An explicit parent (or none): never a framework activity that is not exported.
        Activity.Current = null;
        var span = Source.StartActivity(RpcService + "/" + method, ActivityKind.Server, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("rpc.system", "grpc");
            span.SetTag("rpc.service", RpcService);
            span.SetTag("rpc.method", method);
            span.SetTag("network.peer.address", context.Peer);
        }

        return span;
    }

    /// <summary>The server span of an HTTP/REST inference call (<c>POST /v2/models/{model}/infer</c>).</summary>
    public static Activity? StartHttpServer(string method, string route, string? traceParent, string? traceState)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        var span = Source.StartActivity(method + " " + route, ActivityKind.Server, Parse(traceParent, traceState));
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("http.request.method", method);
            span.SetTag("http.route", route);
        }

        return span;
    }

    /// <summary>Ends a server span with the call's outcome.</summary>
    public static void EndServer(Activity? span, StatusCode code, string? message = null)
    {
        if (span == null)
        {
            return;
        }

        span.SetTag("rpc.grpc.status_code", (int)code);
        if (code != StatusCode.OK)
        {
            span.SetStatus(ActivityStatusCode.Error, message);
        }

        span.Dispose();
    }

    /// <summary>Starts the spans of one upstream batch: each member's queue wait (child of its own request span, from
    /// its arrival to now), then the upstream call. A batch of one request (pass-through, sequences) calls upstream
    /// in that request's trace; a larger one gets its own span linked to every member's request span, and the call is
    /// its child. Returns the batch span (or null) and the upstream span, which is <see cref="Activity.Current"/> on
    /// return so the Triton client sends its <c>traceparent</c>.</summary>
    /// <param name="requests">The batch's members.</param>
    /// <param name="model">The model's name.</param>
    /// <param name="rows">Rows in the batch.</param>
    /// <param name="upstream">Where the call goes (host and port), or null for a peer host.</param>
    /// <param name="nowNs">The batcher's clock now.</param>
    public static (Activity? Batch, Activity? Upstream) StartBatch(PendingRequest[] requests, string model, long rows, long nowNs,
        Uri? upstream)
    {
        ArgumentNullException.ThrowIfNull(requests);
        Activity.Current = null;
        bool traced = false;
        foreach (var request in requests)
        {
            traced |= request.Trace != default;
        }

        if (!traced)
        {
            return (null, null);
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var request in requests)
        {
            if (request.Trace != default)
            {
                var wait = Source.StartActivity("queue wait", ActivityKind.Internal, request.Trace,
                    startTime: now - TimeSpan.FromTicks(Math.Max(0, nowNs - request.ArrivalNs) / 100));
                if (wait != null)
                {
                    wait.SetTag("dataplane.model", model);
                    wait.SetTag("dataplane.batch.requests", requests.Length);
                    wait.SetEndTime(now.UtcDateTime);
                    wait.Dispose();
                }
            }
        }

        Activity.Current = null;
        Activity? batch = null;
        ActivityContext parent = requests[0].Trace;
        if (requests.Length > 1)
        {
            var links = new List<ActivityLink>(requests.Length);
            foreach (var request in requests)
            {
                if (request.Trace != default)
                {
                    links.Add(new ActivityLink(request.Trace));
                }
            }

            batch = Source.StartActivity("batch " + model, ActivityKind.Internal, parentContext: default, links: links);
            if (batch != null)
            {
                batch.SetTag("dataplane.model", model);
                batch.SetTag("dataplane.batch.requests", requests.Length);
                batch.SetTag("dataplane.batch.rows", rows);
                parent = batch.Context;
            }
            else
            {
                return (null, null);
            }
        }

        var call = Source.StartActivity(RpcService + "/ModelInfer", ActivityKind.Client, parent);
        if (call is { IsAllDataRequested: true })
        {
            call.SetTag("rpc.system", "grpc");
            call.SetTag("rpc.service", RpcService);
            call.SetTag("rpc.method", "ModelInfer");
            call.SetTag("dataplane.model", model);
            if (upstream != null)
            {
                call.SetTag("server.address", upstream.Host);
                call.SetTag("server.port", upstream.Port);
            }
        }

        return (batch, call);
    }

    /// <summary>The client span of a stream relayed to Triton (<c>ModelStreamInfer</c>), child of the client's
    /// server span.</summary>
    public static Activity? StartUpstreamStream(Activity? server, Uri? upstream)
    {
        if (server == null)
        {
            return null;
        }

        var call = Source.StartActivity(RpcService + "/ModelStreamInfer", ActivityKind.Client, server.Context);
        if (call is { IsAllDataRequested: true })
        {
            call.SetTag("rpc.system", "grpc");
            call.SetTag("rpc.service", RpcService);
            call.SetTag("rpc.method", "ModelStreamInfer");
            if (upstream != null)
            {
                call.SetTag("server.address", upstream.Host);
                call.SetTag("server.port", upstream.Port);
            }
        }

        return call;
    }

    /// <summary>Ends an upstream call (and its batch) with the outcome.</summary>
    public static void EndUpstream(Activity? batch, Activity? call, RpcException? failure)
    {
        if (call != null)
        {
            call.SetTag("rpc.grpc.status_code", (int)(failure?.StatusCode ?? StatusCode.OK));
            if (failure != null)
            {
                call.SetStatus(ActivityStatusCode.Error, failure.Status.Detail);
            }

            call.Dispose();
        }

        if (batch != null)
        {
            if (failure != null)
            {
                batch.SetStatus(ActivityStatusCode.Error, failure.Status.Detail);
            }

            batch.Dispose();
        }
    }

    /// <summary>Metadata carrying the current span's context to Triton, or <paramref name="headers"/> unchanged when
    /// there is no current span of ours.</summary>
    public static Metadata? Propagate(Metadata? headers)
    {
        if (Activity.Current is { } current && ReferenceEquals(current.Source, Source) && current.Kind == ActivityKind.Client)
        {
            headers ??= [];
            headers.Add(TraceParentHeader, current.Id!);
        }

        return headers;
    }

    /// <summary>The caller's context, or default (a new trace) when the header is absent or malformed.</summary>
    private static ActivityContext Parse(string? traceParent, string? traceState) =>
        traceParent is { Length: 55 } && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context)
            ? context
            : default;
}
