using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DataPlane.Hosting.Tracing;

/// <summary>Starts OpenTelemetry's tracer provider for an executable's activity sources with the OTLP exporter
/// (batching, in the background), or nothing when tracing is off. Disposing the returned handle flushes what is
/// buffered and stops the exporter.</summary>
public static partial class TracingSetup
{
    /// <summary>The provider, or null when <paramref name="options"/> leaves tracing off.</summary>
    /// <param name="options">The <c>Tracing</c> section.</param>
    /// <param name="defaultServiceName"><c>service.name</c> when the section names none.</param>
    /// <param name="sources">Names of the <see cref="ActivitySource"/>s to record.</param>
    /// <param name="logger">Where the start is logged.</param>
    public static IDisposable? Start(TracingOptions options, string defaultServiceName, IReadOnlyList<string> sources, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sources);
        if (options.OtlpEndpoint is not { } endpoint)
        {
            return null;
        }

        string serviceName = options.ServiceName ?? defaultServiceName;
        var builder = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(serviceName, serviceVersion: typeof(TracingSetup).Assembly.GetName().Version?.ToString(3)))
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.SamplingRatio)))
            .AddOtlpExporter(o =>
            {
                o.Endpoint = endpoint;
                o.Protocol = options.Protocol == OtlpProtocol.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
            });
        foreach (string source in sources)
        {
            builder.AddSource(source);
        }

        var provider = builder.Build();
        if (logger != null)
        {
            Log.Started(logger, endpoint, options.Protocol == OtlpProtocol.HttpProtobuf ? "http/protobuf" : "grpc", options.SamplingRatio, serviceName);
        }

        return provider;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9300, Level = LogLevel.Information,
            Message = "tracing: spans exported over OTLP to {Endpoint} ({Protocol}), sampling ratio {Ratio}, service.name {ServiceName}")]
        public static partial void Started(ILogger logger, Uri endpoint, string protocol, double ratio, string serviceName);
    }
}
