using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Runtimes;

/// <summary>Ollama through its native API (not its OpenAI-compatible one, which has no log-probabilities).
/// <para>A chat goes to <c>POST api/chat</c> with <c>messages</c>; a plain prompt to
/// <c>POST api/generate</c> with <c>prompt</c>. Both send <c>model</c>, <c>"stream": true</c> and
/// <c>options</c> with <c>num_predict</c> (the token cap), <c>temperature</c> and <c>top_p</c> when set,
/// and <c>stop</c> when not empty. When <see cref="LocalRequest.Logprobs"/> and the runtime has them
/// (<see cref="ProvidesLogprobs"/>), also <c>"logprobs": true, "top_logprobs": 0</c> (Ollama 0.12.11
/// and later: the chosen token's log-probability only).</para>
/// <para>The answer is NDJSON (<c>application/x-ndjson</c>), parsed as <see cref="OllamaNdjsonParser"/>
/// describes; it ends at the line with <c>"done": true</c>. Health: <c>GET /</c> answers 200
/// "Ollama is running".</para>
/// <para><see cref="HailoOllamaRuntime"/> is the same protocol as served by hailo-ollama.</para></summary>
public class OllamaRuntime : HttpLocalRuntime
{
    /// <summary>Ollama's default address.</summary>
    public static Uri DefaultAddress { get; } = new("http://127.0.0.1:11434/");

    /// <param name="baseAddress">The server's base URL, e.g. http://127.0.0.1:11434/.</param>
    /// <param name="model">Model name sent when a request has none (Ollama requires one, e.g. "llama3.2:1b").</param>
    /// <param name="http">The agent's shared client (keep-alive connection pool).</param>
    /// <param name="requestTimeout">Longest a whole request may take, stream included.</param>
    /// <param name="logger">For health changes; none when null.</param>
    public OllamaRuntime(Uri baseAddress, string model, HttpClient http, TimeSpan requestTimeout, ILogger? logger = null)
        : base(baseAddress, model, http, requestTimeout, logger)
    {
    }

    /// <summary>"ollama".</summary>
    public override string Name => "ollama";

    public override bool ProvidesLogprobs => true;

    private protected override string StreamMediaType => "application/x-ndjson";

    private protected override string HealthPath => string.Empty;

    private protected override Uri EndpointFor(LocalRequest request) =>
        new(BaseAddress, request.Messages.Count > 0 ? "api/chat" : "api/generate");

    private protected override void WriteBody(Utf8JsonWriter writer, LocalRequest request)
    {
        writer.WriteStartObject();
        writer.WriteString("model"u8, ModelFor(request));
        if (request.Messages.Count > 0)
        {
            writer.WriteStartArray("messages"u8);
            foreach (var message in request.Messages)
            {
                writer.WriteStartObject();
                writer.WriteString("role"u8, message.Role);
                writer.WriteString("content"u8, message.Content);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }
        else
        {
            writer.WriteString("prompt"u8, request.Prompt);
        }

        writer.WriteBoolean("stream"u8, true);
        writer.WriteStartObject("options"u8);
        writer.WriteNumber("num_predict"u8, request.MaxTokens);
        if (request.Temperature is { } temperature)
        {
            writer.WriteNumber("temperature"u8, temperature);
        }

        if (request.TopP is { } topP)
        {
            writer.WriteNumber("top_p"u8, topP);
        }

        if (request.Stop.Count > 0)
        {
            writer.WriteStartArray("stop"u8);
            foreach (string stop in request.Stop)
            {
                writer.WriteStringValue(stop);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        if (request.Logprobs && ProvidesLogprobs)
        {
            writer.WriteBoolean("logprobs"u8, true);
            writer.WriteNumber("top_logprobs"u8, 0);
        }

        writer.WriteEndObject();
    }

    private protected override StreamParser CreateParser(LocalRequest request) => new OllamaNdjsonParser();
}
