namespace DataPlane.Batching.Options;

/// <summary>Where Triton (or the simulated Triton) listens and how the daemon watches it.</summary>
public sealed record UpstreamOptions
{
    /// <summary>Triton's gRPC address, e.g. http://127.0.0.1:8001 (Triton's default port).
    /// Empty: the daemon starts the embedded simulated Triton and uses it.</summary>
    public string Address { get; init; } = "";

    /// <summary>How often the upstream's readiness is checked and its model repository re-read. Default 1 s.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline of a readiness or metadata call upstream. Default 2 s.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>HTTP/2 keepalive ping interval on idle upstream connections. Default 20 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a keepalive ping may go unanswered before the connection is dropped. Default 10 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest an upstream batch call may take when no request in it carries a gRPC deadline. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest upstream response accepted. Default 2 GiB − 1, Triton's limit.</summary>
    public int MaxResponseBytes { get; init; } = int.MaxValue;
}
