using System.Diagnostics;

namespace DataPlane.Hosting.Tracing;

/// <summary>W3C Trace Context on the wire: the <c>traceparent</c> header a span continues from and the one sent to the
/// next hop.</summary>
public static class TraceParent
{
    /// <summary>The header's name (gRPC metadata and HTTP).</summary>
    public const string Header = "traceparent";

    /// <summary>The remote parent a server span continues: the caller's <c>traceparent</c>, or default when it is
    /// absent or malformed (a new trace then starts).</summary>
    public static ActivityContext Parse(string? traceParent, string? traceState = null) =>
        traceParent is { Length: 55 } && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context)
            ? context
            : default;

    /// <summary>The <c>traceparent</c> value naming <paramref name="context"/> as the parent of the next hop.</summary>
    public static string Format(in ActivityContext context) =>
        string.Concat("00-", context.TraceId.ToHexString(), "-", context.SpanId.ToHexString(),
            (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "-01" : "-00");
}
