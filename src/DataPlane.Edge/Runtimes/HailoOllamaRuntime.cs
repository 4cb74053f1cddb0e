using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Runtimes;

/// <summary>hailo-ollama, the Hailo-10H (Raspberry Pi AI HAT+ 2) server: the Ollama REST subset
/// (<c>api/chat</c>, <c>api/generate</c>, NDJSON streams) on port 8000, running precompiled HEF
/// models. HailoRT exposes no token probabilities, so this adapter never asks for
/// <c>logprobs</c> and its chunks carry none (<see cref="ProvidesLogprobs"/> is false); the agent
/// must judge confidence by other signals. Health: <c>GET api/version</c> (hailo-ollama has no
/// root page). It serves one connection with one pending request at a time.</summary>
public sealed class HailoOllamaRuntime : OllamaRuntime
{
    /// <summary>hailo-ollama's default port.</summary>
    public const int DefaultPort = 8000;

    /// <summary>hailo-ollama's default address.</summary>
    public static new Uri DefaultAddress { get; } = new($"http://127.0.0.1:{DefaultPort}/");

    /// <param name="baseAddress">The server's base URL, e.g. http://127.0.0.1:8000/.</param>
    /// <param name="model">Model name sent when a request has none (e.g. "qwen2.5-instruct:1.5b").</param>
    /// <param name="http">The agent's shared client.</param>
    /// <param name="requestTimeout">Longest a whole request may take, stream included.</param>
    /// <param name="logger">For health changes; none when null.</param>
    public HailoOllamaRuntime(Uri baseAddress, string model, HttpClient http, TimeSpan requestTimeout, ILogger? logger = null)
        : base(baseAddress, model, http, requestTimeout, logger)
    {
    }

    /// <summary>"hailo-ollama".</summary>
    public override string Name => "hailo-ollama";

    /// <summary>False: HailoRT's GenAI API reports no token probabilities.</summary>
    public override bool ProvidesLogprobs => false;

    private protected override string HealthPath => "api/version";
}
