using System.Globalization;
using DataPlane.Batching.Batching;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Batching.Frontend.Load;

/// <summary>Per-call load reports in the ORCA convention (gRFC A51): the text form of an
/// <c>xds.data.orca.v3.OrcaLoadReport</c> in the <c>endpoint-load-metrics</c> trailer (gRPC) or response header (HTTP),
/// e.g. <c>TEXT named_metrics.queue_depth=3, named_metrics.inflight_batches=1, named_metrics.inflight_streams=0,
/// named_metrics.predicted_wait_ms=12.5</c>. Sent on inference answers (unary, HTTP, and the trailers of a stream)
/// and on ModelReady, the cheap probe. Clients that do not look for it (Triton's) ignore it.</summary>
public static class LoadReport
{
    /// <summary>The trailer and header name (ORCA's text form; the binary form would be <c>endpoint-load-metrics-bin</c>).</summary>
    public const string Name = "endpoint-load-metrics";

    /// <summary>The named metrics, in the order they are written.</summary>
    public const string QueueDepth = "queue_depth";

    /// <inheritdoc cref="QueueDepth"/>
    public const string InflightBatches = "inflight_batches";

    /// <inheritdoc cref="QueueDepth"/>
    public const string InflightStreams = "inflight_streams";

    /// <inheritdoc cref="QueueDepth"/>
    public const string PredictedWaitMs = "predicted_wait_ms";

    /// <summary>The text form of <paramref name="load"/>.</summary>
    public static string Format(ModelLoad load) => string.Create(CultureInfo.InvariantCulture,
        $"TEXT named_metrics.{QueueDepth}={load.QueueDepth}, named_metrics.{InflightBatches}={load.InflightBatches}, " +
        $"named_metrics.{InflightStreams}={load.InflightStreams}, named_metrics.{PredictedWaitMs}={Math.Round(load.PredictedWaitMs, 3)}");

    /// <summary>The report for <paramref name="model"/>, or null when the daemon does not serve it (nothing is sent then).</summary>
    public static string? For(InferenceServer server, string? model)
    {
        ArgumentNullException.ThrowIfNull(server);
        return model is { Length: > 0 } && server.Registry.TryGet(model, out var batcher) ? Format(batcher.Load()) : null;
    }

    /// <summary>Adds the report for <paramref name="model"/> to a gRPC call's trailers (replacing one already there).</summary>
    public static void AddTo(ServerCallContext context, InferenceServer server, string? model)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (For(server, model) is not { } report)
        {
            return;
        }

        var trailers = context.ResponseTrailers;
        for (int i = trailers.Count - 1; i >= 0; i--)
        {
            if (trailers[i].Key == Name)
            {
                trailers.RemoveAt(i);
            }
        }

        trailers.Add(Name, report);
    }

    /// <summary>Sets the report for <paramref name="model"/> as an HTTP response header, unless the response has started.</summary>
    public static void AddTo(HttpResponse response, InferenceServer server, string? model)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!response.HasStarted && For(server, model) is { } report)
        {
            response.Headers[Name] = report;
        }
    }
}
