using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Runtimes;

/// <summary>llama.cpp server (<c>llama-server</c>) through its OpenAI-compatible endpoints; also the
/// adapter the agent uses for its simulated local runtime, which speaks the same wire format.
/// <para>A chat goes to <c>POST v1/chat/completions</c> with <c>messages</c>; a plain prompt to
/// <c>POST v1/completions</c> with <c>prompt</c>. Both send <c>model</c>, <c>"stream": true</c>,
/// <c>"stream_options": {"include_usage": true}</c> (so the token counts come in a last chunk),
/// <c>max_tokens</c>, <c>temperature</c> and <c>top_p</c> when set, <c>stop</c> when not empty, and
/// <c>"cache_prompt": true</c> (reuse the KV cache of a common prefix: the Pi's prefill is slow).
/// Log-probabilities, when <see cref="LocalRequest.Logprobs"/>: chat sends <c>"logprobs": true,
/// "top_logprobs": 1</c>; completions send the OpenAI completions form <c>"logprobs": 1</c> (a count,
/// which llama.cpp reads as <c>n_probs</c>).</para>
/// <para>The answer is an SSE stream parsed as <see cref="OpenAiSseParser"/> describes; it ends at
/// <c>data: [DONE]</c>. Health: <c>GET health</c> answers 200 <c>{"status":"ok"}</c> when the model
/// is loaded and 503 while it loads. Capacity: <c>GET props</c> reports <c>total_slots</c>, the generations the
/// server runs at once (<c>--parallel</c>); more requests wait in its task queue.</para></summary>
public sealed class LlamaCppRuntime : HttpLocalRuntime, IReportsParallelism
{
    /// <summary>Most bytes of <c>GET /props</c> read (the answer carries the chat template, a few KiB to tens of KiB).</summary>
    public const int MaxPropsBytes = 1 << 20;

    /// <summary>llama-server's customary address (always pass <c>--port</c> to it explicitly).</summary>
    public static Uri DefaultAddress { get; } = new("http://127.0.0.1:8080/");

    private readonly string _name;

    /// <param name="baseAddress">The server's base URL, e.g. http://127.0.0.1:8080/.</param>
    /// <param name="model">Model name sent when a request has none (llama.cpp serves the model it
    /// was started with and mostly ignores it; router mode uses it).</param>
    /// <param name="http">The agent's shared client (keep-alive connection pool).</param>
    /// <param name="requestTimeout">Longest a whole request may take, stream included.</param>
    /// <param name="logger">For health changes; none when null.</param>
    public LlamaCppRuntime(Uri baseAddress, string model, HttpClient http, TimeSpan requestTimeout, ILogger? logger = null)
        : this("llama.cpp", baseAddress, model, http, requestTimeout, logger)
    {
    }

    /// <summary>The same adapter under another <see cref="Name"/> ("simulated" for the simulation).</summary>
    internal LlamaCppRuntime(string name, Uri baseAddress, string model, HttpClient http, TimeSpan requestTimeout, ILogger? logger)
        : base(baseAddress, model, http, requestTimeout, logger)
    {
        _name = name;
    }

    /// <summary>"llama.cpp", or "simulated" when it talks to the simulated local runtime.</summary>
    public override string Name => _name;

    public override bool ProvidesLogprobs => true;

    private protected override string StreamMediaType => "text/event-stream";

    private protected override string HealthPath => "health";

    /// <inheritdoc />
    public async Task<int?> ReadParallelismAsync(CancellationToken cancellationToken)
    {
        var answer = await GetPrefixAsync("props", MaxPropsBytes, cancellationToken).ConfigureAwait(false);
        if (answer is not { Status: HttpStatusCode.OK } ok)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(ok.Body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("total_slots"u8, out var slots)
                && slots.ValueKind == JsonValueKind.Number
                && slots.TryGetInt32(out int n) && n > 0
                ? n
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private protected override Uri EndpointFor(LocalRequest request) =>
        new(BaseAddress, request.Messages.Count > 0 ? "v1/chat/completions" : "v1/completions");

    private protected override void WriteBody(Utf8JsonWriter writer, LocalRequest request)
    {
        bool chat = request.Messages.Count > 0;
        writer.WriteStartObject();
        writer.WriteString("model"u8, ModelFor(request));
        if (chat)
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
        writer.WriteStartObject("stream_options"u8);
        writer.WriteBoolean("include_usage"u8, true);
        writer.WriteEndObject();
        writer.WriteNumber("max_tokens"u8, request.MaxTokens);
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

        writer.WriteBoolean("cache_prompt"u8, true);
        if (request.Logprobs)
        {
            if (chat)
            {
                writer.WriteBoolean("logprobs"u8, true);
                writer.WriteNumber("top_logprobs"u8, 1);
            }
            else
            {
                writer.WriteNumber("logprobs"u8, 1);
            }
        }

        writer.WriteEndObject();
    }

    private protected override StreamParser CreateParser(LocalRequest request) => new OpenAiSseParser();

    /// <summary>Ready only on 200 with <c>"status": "ok"</c> (a 200 from something else on the port,
    /// or an older server's other statuses, are not ready).</summary>
    private protected override bool IsReadyAnswer(HttpStatusCode status, ReadOnlySpan<byte> body)
    {
        if (status != HttpStatusCode.OK)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("status"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("ok"u8);
                }

                reader.Read();
                reader.Skip();
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
