namespace DataPlane.Edge.Runtimes;

/// <summary>A local model server on the Pi (llama.cpp server, Ollama, hailo-ollama, or the simulation).
/// Implementations stream; they never buffer a whole answer.</summary>
public interface ILocalRuntime
{
    /// <summary>"llama.cpp", "ollama", "hailo-ollama" or "simulated".</summary>
    string Name { get; }

    /// <summary>True when streamed chunks carry log-probabilities (Hailo's runtime has none).</summary>
    bool ProvidesLogprobs { get; }

    /// <summary>Streams the answer. Ends with a chunk whose <see cref="TokenChunk.FinishReason"/> is set.
    /// Throws <see cref="LocalRuntimeException"/> when the runtime fails or answers malformed data;
    /// honours cancellation promptly (the HTTP request is aborted).</summary>
    IAsyncEnumerable<TokenChunk> StreamAsync(LocalRequest request, CancellationToken cancellationToken);

    /// <summary>True when the runtime answers its health endpoint with "ready".</summary>
    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);
}

/// <summary>A local runtime failed: unreachable, an error status, or a malformed stream. The message
/// names the runtime and the URL; <see cref="StatusCode"/> is set when the runtime answered an error status.</summary>
public sealed class LocalRuntimeException : Exception
{
    public LocalRuntimeException()
    {
    }

    public LocalRuntimeException(string message)
        : base(message)
    {
    }

    public LocalRuntimeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The HTTP status the runtime answered (e.g. 503 while a model loads), or null when it
    /// did not answer with an error status (unreachable, timed out, malformed stream).</summary>
    public System.Net.HttpStatusCode? StatusCode { get; init; }
}
