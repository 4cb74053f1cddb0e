using DataPlane.Edge.Api;

namespace DataPlane.Edge.Serving;

/// <summary>How the agent serves requests (the routing thresholds are in <c>RoutingOptions</c>).</summary>
public sealed record EdgeOptions
{
    /// <summary>Model names clients may ask for that this node can answer locally (the first is the default).</summary>
    public IReadOnlyList<string> LocalModels { get; init; } = ["local-small"];

    /// <summary>Model names only the GPU pool serves (always escalated).</summary>
    public IReadOnlyList<string> GpuModels { get; init; } = [];

    /// <summary>The local runtime's own model name (Ollama needs it; llama.cpp ignores it).</summary>
    public string LocalRuntimeModel { get; init; } = "local-small-sim";

    /// <summary>Output limit when the client sets none. Default 256 tokens.</summary>
    public int DefaultMaxTokens { get; init; } = 256;

    /// <summary>Time-to-first-token objective when the client sets none. Default 1.5 s.</summary>
    public TimeSpan DefaultSlo { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Replace mode: how long after the local answer ended the stream stays open for the GPU answer. Default 30 s.</summary>
    public TimeSpan ReplaceWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Assumed local time to first token before any was measured (bounds the hedge delay). Default 300 ms.</summary>
    public TimeSpan InitialLocalTtft { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Largest request body accepted. Default 1 MiB.</summary>
    public long MaxRequestBytes { get; init; } = 1 << 20;

    /// <summary>Bearer keys the API requires (<c>Authorization:Keys</c>); none: the API is open.</summary>
    public ApiKeySet ApiKeys { get; init; } = ApiKeySet.None;

    /// <summary>True when <paramref name="model"/> is served here (locally or through the GPU pool).</summary>
    public bool Serves(string model) => LocalModels.Contains(model, StringComparer.Ordinal) || GpuModels.Contains(model, StringComparer.Ordinal);
}
