namespace DataPlane.Batching.Frontend;

/// <summary>How DataPlane names itself where no Triton client looks: a response header on ServerMetadata (gRPC)
/// and <c>GET /v2</c> (HTTP). ServerMetadata's body is the upstream's (name, version, extensions), so clients
/// that check for Triton find Triton.</summary>
public static class ServerIdentity
{
    /// <summary>The response header that names the front end.</summary>
    public const string Header = "dataplane-version";

    /// <summary>The assembly version, e.g. "0.1.0".</summary>
    public static string Version { get; } =
        typeof(ServerIdentity).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The header's value, e.g. "dataplane/0.1.0".</summary>
    public static string Value { get; } = "dataplane/" + Version;
}
