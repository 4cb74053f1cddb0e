using DataPlane.Edge.Api;

namespace DataPlane.Edge.Runtimes;

/// <summary>What the agent asks a local runtime for: a chat (<see cref="Messages"/>) or a plain
/// completion (<see cref="Prompt"/>, when <see cref="Messages"/> is empty), streamed.</summary>
public sealed record LocalRequest
{
    /// <summary>The runtime's own model name (llama.cpp ignores it; Ollama requires it).</summary>
    public required string Model { get; init; }

    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>Plain completion prompt, used when <see cref="Messages"/> is empty.</summary>
    public string? Prompt { get; init; }

    public int MaxTokens { get; init; } = 256;

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Ask for per-token log-probabilities (when the runtime can give them).</summary>
    public bool Logprobs { get; init; } = true;

    /// <summary>W3C traceparent of the client request, passed on where the runtime accepts headers.</summary>
    public string? TraceParent { get; init; }
}
