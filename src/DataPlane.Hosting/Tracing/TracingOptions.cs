using DataPlane.Hosting.Configuration;

namespace DataPlane.Hosting.Tracing;

/// <summary>How spans leave the process: OTLP over gRPC (port 4317) or HTTP/protobuf (port 4318, <c>/v1/traces</c>).</summary>
public enum OtlpProtocol
{
    /// <summary>OTLP/gRPC: the endpoint is the collector's base address (http://collector:4317).</summary>
    Grpc,

    /// <summary>OTLP/HTTP with protobuf bodies: the endpoint is the full traces URL (http://collector:4318/v1/traces).</summary>
    HttpProtobuf,
}

/// <summary>The <c>Tracing</c> section shared by both executables. Tracing is off unless
/// <see cref="OtlpEndpoint"/> is set; when off no span is created (the activity sources have no listener).</summary>
public sealed record TracingOptions
{
    /// <summary>Off: the defaults.</summary>
    public static readonly TracingOptions Off = new();

    /// <summary>Where spans are exported (<c>Tracing:OtlpEndpoint</c>); null = tracing off (the default).</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary><c>Tracing:Protocol</c>: <c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public OtlpProtocol Protocol { get; init; } = OtlpProtocol.Grpc;

    /// <summary><c>Tracing:SamplingRatio</c>: the share of new traces recorded, 0 to 1 (default 1). A request that
    /// arrives with a <c>traceparent</c> follows its caller's sampled flag (parent-based sampling).</summary>
    public double SamplingRatio { get; init; } = 1.0;

    /// <summary><c>Tracing:ServiceName</c>: the <c>service.name</c> resource attribute (default: the executable's name).</summary>
    public string? ServiceName { get; init; }

    /// <summary>True when spans are recorded and exported.</summary>
    public bool Enabled => OtlpEndpoint != null;

    /// <summary>Reads the <c>Tracing</c> section; bad values are reported through the binder with their keys.</summary>
    public static TracingOptions Read(ConfigBinder b)
    {
        ArgumentNullException.ThrowIfNull(b);
        string endpoint = b.String("Tracing:OtlpEndpoint", "");
        string protocol = b.String("Tracing:Protocol", "grpc");
        double ratio = b.Double("Tracing:SamplingRatio", 1.0, 0.0, 1.0);
        string serviceName = b.String("Tracing:ServiceName", "");
        Uri? uri = null;
        if (endpoint.Length > 0)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.Host.Length == 0)
            {
                b.Error("Tracing:OtlpEndpoint", $"'{endpoint}' is not an http:// or https:// URL (an OTLP collector, e.g. http://127.0.0.1:4317)");
                uri = null;
            }
        }

        OtlpProtocol kind = OtlpProtocol.Grpc;
        switch (protocol.ToLowerInvariant())
        {
            case "grpc":
                break;
            case "http/protobuf":
                kind = OtlpProtocol.HttpProtobuf;
                break;
            default:
                b.Error("Tracing:Protocol", $"'{protocol}' is not an OTLP protocol (grpc or http/protobuf)");
                break;
        }

        if (serviceName.Length > 255)
        {
            b.Error("Tracing:ServiceName", $"{serviceName.Length} characters is more than 255");
        }

        return new TracingOptions
        {
            OtlpEndpoint = uri,
            Protocol = kind,
            SamplingRatio = ratio,
            ServiceName = serviceName.Length > 0 ? serviceName : null,
        };
    }
}
