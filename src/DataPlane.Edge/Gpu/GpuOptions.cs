namespace DataPlane.Edge.Gpu;

/// <summary>How the agent reaches the GPU pool: `dataplane` hosts speaking KServe v2 gRPC.</summary>
public sealed record GpuOptions
{
    /// <summary>Hosts as "host:port" (a static list), or a single "dns:///name:port" re-resolved periodically, every
    /// address it resolves to a host of its own. Balanced by <see cref="Balancing"/>. Empty: no GPU pool (every request
    /// is local).</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>Mutual TLS to the hosts; null = cleartext h2c (tests and closed networks only).</summary>
    public GpuTlsOptions? Tls { get; init; }

    /// <summary>Triton model behind the GPU pool for client model names not in <see cref="ModelMap"/>. Default "llm".</summary>
    public string DefaultModel { get; init; } = "llm";

    /// <summary>Client model name → Triton model name.</summary>
    public IReadOnlyDictionary<string, string> ModelMap { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Input convention of the Triton model: <c>simple</c> (text_input BYTES, optional max_tokens INT32)
    /// or <c>vllm</c> (text_input, stream, sampling_parameters JSON, exclude_input_in_output), as Triton's vLLM
    /// backend expects.</summary>
    public string Convention { get; init; } = "simple";

    /// <summary>Longest a GPU request may run (its gRPC deadline). Default 60 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>HTTP/2 keepalive ping interval. Default 20 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>DSCP (0..63) of the agent's connections to the GPU hosts; null: the kernel's default.</summary>
    public int? Dscp { get; init; }

    /// <summary>How requests are spread over the hosts and when a host is ejected (<c>Gpu:Balancing:*</c>).</summary>
    public BalancingOptions Balancing { get; init; } = new();

    /// <summary>How often a dns:/// host name is re-resolved. Default 30 s.</summary>
    public TimeSpan DnsRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Client certificate and pinned CA for mutual TLS to the GPU hosts (PEM files).</summary>
public sealed record GpuTlsOptions(string CertificatePath, string KeyPath, string CaPath)
{
    /// <summary>A certificate revocation list signed by the CA: host certificates it names are refused. Re-read when it
    /// changes. Null: no revocation checking.</summary>
    public string? CrlPath { get; init; }
}
