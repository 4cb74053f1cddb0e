using System.Text;
using System.Text.Json;
using DataPlane.Edge.Api;

namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>The fields of an OpenAI-style completion request that the simulation honours, read as
/// llama.cpp server reads them: <c>messages</c> (chat; a content may be a string or an array of
/// text parts) or <c>prompt</c> (completions; a string, or an array whose first element is used),
/// <c>stream</c>, <c>max_tokens</c> (<c>n_predict</c> overrides it), <c>stop</c> (a string or an
/// array), <c>logprobs</c> (chat: a boolean; completions: a count, a boolean also accepted),
/// <c>top_logprobs</c> and <c>stream_options.include_usage</c>. Sampling settings
/// (<c>temperature</c>, <c>top_p</c>, …) are accepted and ignored: the simulation is deterministic.</summary>
internal sealed class SimulatedCompletionRequest
{
    public required bool Chat { get; init; }

    /// <summary>The text the answer is derived from (<see cref="SimulatedLocalModel.PromptOf"/> for chats).</summary>
    public required string Prompt { get; init; }

    /// <summary>Every message's text, or the prompt: what prompt_tokens counts.</summary>
    public required string FullText { get; init; }

    public bool Stream { get; init; }

    public int? MaxTokens { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public bool Logprobs { get; init; }

    public int TopLogprobs { get; init; }

    public bool IncludeUsage { get; init; }

    /// <exception cref="InvalidDataException">The body is not a valid request (the message says why).</exception>
    /// <exception cref="JsonException">The body is not JSON.</exception>
    public static async Task<SimulatedCompletionRequest> ReadAsync(Stream body, bool chat, CancellationToken cancellationToken)
    {
        using var document = await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("the request body is not a JSON object");
        }

        string prompt;
        string fullText;
        if (chat)
        {
            var messages = ReadMessages(root);
            prompt = SimulatedLocalModel.PromptOf(messages);
            fullText = string.Join('\n', messages.Select(m => m.Content));
        }
        else
        {
            prompt = fullText = ReadPrompt(root);
        }

        int? maxTokens = OptionalInt(root, "n_predict") ?? OptionalInt(root, "max_tokens") ?? OptionalInt(root, "max_completion_tokens");
        bool logprobs = root.TryGetProperty("logprobs", out var lp) && lp.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.Number => lp.TryGetInt32(out int n) && n > 0,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new InvalidDataException("\"logprobs\" must be a boolean or a number"),
        };
        int topLogprobs = OptionalInt(root, "top_logprobs") ?? (!chat && lp.ValueKind == JsonValueKind.Number ? lp.GetInt32() : 0);
        bool includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        return new SimulatedCompletionRequest
        {
            Chat = chat,
            Prompt = prompt,
            FullText = fullText,
            Stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True,
            MaxTokens = maxTokens,
            Stop = ReadStop(root),
            Logprobs = logprobs,
            TopLogprobs = Math.Max(0, topLogprobs),
            IncludeUsage = includeUsage,
        };
    }

    private static List<ChatMessage> ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException("\"messages\" is required and must be an array");
        }

        var list = new List<ChatMessage>();
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException("every message must be an object with a string \"role\"");
            }

            list.Add(new ChatMessage(role.GetString()!, ReadContent(message)));
        }

        if (list.Count == 0)
        {
            throw new InvalidDataException("\"messages\" must not be empty");
        }

        return list;
    }

    private static string ReadContent(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return string.Empty;
        }

        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Null:
                return string.Empty;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text.Append(t.GetString());
                    }
                }

                return text.ToString();
            default:
                throw new InvalidDataException("a message \"content\" must be a string or an array of parts");
        }
    }

    private static string ReadPrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt))
        {
            throw new InvalidDataException("\"prompt\" is required");
        }

        return prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString()!,
            JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString()!,
            _ => throw new InvalidDataException("\"prompt\" must be a string (token arrays are not simulated)"),
        };
    }

    private static string[] ReadStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return [stop.GetString()!];
        }

        if (stop.ValueKind != JsonValueKind.Array || stop.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw new InvalidDataException("\"stop\" must be a string or an array of strings");
        }

        return stop.EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static int? OptionalInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number))
        {
            throw new InvalidDataException($"\"{name}\" must be an integer");
        }

        return number;
    }
}
