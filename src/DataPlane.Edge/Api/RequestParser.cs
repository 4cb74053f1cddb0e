using System.Text.Json;
using DataPlane.Edge.Api;

namespace DataPlane.Edge.Api;

/// <summary>Turns request bodies and headers into <see cref="EdgeRequest"/>s, or into an
/// <see cref="ApiError"/> naming the field at fault: malformed JSON, missing or mistyped fields,
/// out-of-range values. Never throws for bad input.</summary>
public static class RequestParser
{
    /// <summary>Largest max_tokens accepted.</summary>
    public const int MaxTokensLimit = 32_768;

    private static readonly string[] s_roles = ["system", "user", "assistant", "tool", "developer"];

    /// <summary>Headers that carry DataPlane options (they win over the body's <c>dataplane</c> object).</summary>
    public readonly record struct Headers(string? Mode, string? Replace, string? SloMs, string? TraceParent);

    public static ApiError? TryParseChat(ReadOnlySpan<byte> body, Headers headers, out EdgeRequest request)
    {
        request = null!;
        if (!TryDeserialize(body, OpenAiJsonContext.Default.ChatCompletionRequestDto, out var dto, out var error))
        {
            return error;
        }

        if (string.IsNullOrWhiteSpace(dto!.Model))
        {
            return ApiError.Invalid("you must provide a model parameter", "model");
        }

        if (dto.Messages is not { Count: > 0 } messages)
        {
            return ApiError.Invalid("'messages' must be a non-empty array of messages", "messages");
        }

        var parsed = new ChatMessage[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m is null)
            {
                return ApiError.Invalid($"messages[{i}] must be an object with 'role' and 'content'", $"messages[{i}]");
            }

            if (m.Role is null || Array.IndexOf(s_roles, m.Role) < 0)
            {
                return ApiError.Invalid($"messages[{i}].role must be one of {string.Join(", ", s_roles)}; got {Quote(m.Role)}", $"messages[{i}].role");
            }

            if (!TryText(m.Content, out string? content, out bool badText))
            {
                return badText
                    ? NotText($"messages[{i}].content")
                    : ApiError.Invalid($"messages[{i}].content must be a string or an array of text parts", $"messages[{i}].content");
            }

            parsed[i] = new ChatMessage(m.Role, content!);
        }

        int? maxTokens = dto.MaxCompletionTokens ?? dto.MaxTokens;
        string maxField = dto.MaxCompletionTokens != null ? "max_completion_tokens" : "max_tokens";
        var common = Common(maxTokens, maxField, dto.Temperature, dto.TopP, dto.N, dto.Stop, dto.Dataplane, headers, out var options);
        if (common != null)
        {
            return common;
        }

        request = options with
        {
            Endpoint = EdgeEndpoint.Chat,
            Model = dto.Model,
            Messages = parsed,
            Stream = dto.Stream ?? false,
            IncludeUsage = dto.StreamOptions?.IncludeUsage ?? false,
        };
        return null;
    }

    public static ApiError? TryParseCompletion(ReadOnlySpan<byte> body, Headers headers, out EdgeRequest request)
    {
        request = null!;
        if (!TryDeserialize(body, OpenAiJsonContext.Default.CompletionRequestDto, out var dto, out var error))
        {
            return error;
        }

        if (string.IsNullOrWhiteSpace(dto!.Model))
        {
            return ApiError.Invalid("you must provide a model parameter", "model");
        }

        var promptElement = dto.Prompt.ValueKind == JsonValueKind.Array && dto.Prompt.GetArrayLength() == 1 ? dto.Prompt[0] : dto.Prompt;
        string? prompt = null;
        if (promptElement.ValueKind == JsonValueKind.String && !TryString(promptElement, out prompt))
        {
            return NotText("prompt");
        }

        if (prompt is null)
        {
            return dto.Prompt.ValueKind == JsonValueKind.Array && dto.Prompt.GetArrayLength() > 1
                ? ApiError.Invalid("'prompt' with several prompts is not supported; send one string", "prompt")
                : ApiError.Invalid("'prompt' must be a string", "prompt");
        }

        if (dto.Echo == true)
        {
            return ApiError.Invalid("'echo' is not supported", "echo");
        }

        var common = Common(dto.MaxTokens, "max_tokens", dto.Temperature, dto.TopP, dto.N, dto.Stop, dto.Dataplane, headers, out var options);
        if (common != null)
        {
            return common;
        }

        request = options with
        {
            Endpoint = EdgeEndpoint.Completion,
            Model = dto.Model,
            Prompt = prompt,
            Stream = dto.Stream ?? false,
            IncludeUsage = dto.StreamOptions?.IncludeUsage ?? false,
        };
        return null;
    }

    private static ApiError? Common(int? maxTokens, string maxField, double? temperature, double? topP, int? n, JsonElement stop,
        DataplaneOptionsDto? dataplane, Headers headers, out EdgeRequest options)
    {
        options = new EdgeRequest { Endpoint = EdgeEndpoint.Chat, Model = "" };
        if (maxTokens is { } mt && (mt < 1 || mt > MaxTokensLimit))
        {
            return ApiError.Invalid($"{maxField} must be between 1 and {MaxTokensLimit}; got {mt}", maxField);
        }

        if (temperature is { } t && (t < 0 || t > 2 || !double.IsFinite(t)))
        {
            return ApiError.Invalid($"temperature must be between 0 and 2; got {t}", "temperature");
        }

        if (topP is { } p && (p <= 0 || p > 1 || !double.IsFinite(p)))
        {
            return ApiError.Invalid($"top_p must be greater than 0 and at most 1; got {p}", "top_p");
        }

        if (n is { } count && count != 1)
        {
            return ApiError.Invalid($"n must be 1 (several choices are not supported); got {count}", "n");
        }

        var stops = new List<string>();
        switch (stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                break;
            case JsonValueKind.String:
                if (!TryString(stop, out string? one))
                {
                    return NotText("stop");
                }

                stops.Add(one!);
                break;
            case JsonValueKind.Array when stop.GetArrayLength() <= 4:
                foreach (var s in stop.EnumerateArray())
                {
                    if (s.ValueKind != JsonValueKind.String)
                    {
                        return ApiError.Invalid("stop must be a string or an array of up to 4 strings", "stop");
                    }

                    if (!TryString(s, out string? item))
                    {
                        return NotText("stop");
                    }

                    stops.Add(item!);
                }

                break;
            default:
                return ApiError.Invalid("stop must be a string or an array of up to 4 strings", "stop");
        }

        string? modeText = headers.Mode ?? dataplane?.Mode;
        RequestedMode mode = RequestedMode.Auto;
        if (modeText != null && !TryMode(modeText, out mode))
        {
            return ApiError.Invalid($"mode must be one of auto, local, gpu, speculative; got {Quote(modeText)}",
                headers.Mode != null ? "X-DataPlane-Mode" : "dataplane.mode");
        }

        bool replace = dataplane?.Replace ?? false;
        if (headers.Replace != null)
        {
            if (!bool.TryParse(headers.Replace, out replace))
            {
                return ApiError.Invalid($"X-DataPlane-Replace must be true or false; got {Quote(headers.Replace)}", "X-DataPlane-Replace");
            }
        }

        double? sloMs = dataplane?.SloMs;
        string sloField = "dataplane.slo_ms";
        if (headers.SloMs != null)
        {
            sloField = "X-DataPlane-SLO-Ms";
            sloMs = double.TryParse(headers.SloMs, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v)
                ? v : double.NaN;
        }

        if (sloMs is { } slo && (!double.IsFinite(slo) || slo <= 0 || slo > 600_000))
        {
            return ApiError.Invalid($"{sloField} must be a number of milliseconds between 0 and 600000", sloField);
        }

        options = options with
        {
            MaxTokens = maxTokens,
            Temperature = temperature,
            TopP = topP,
            Stop = stops,
            Mode = mode,
            Replace = replace,
            Slo = sloMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            TraceParent = TraceContext.IsValid(headers.TraceParent) ? headers.TraceParent : TraceContext.NewTraceParent(),
            ClientTraceParent = TraceContext.IsValid(headers.TraceParent),
        };
        return null;
    }

    private static bool TryMode(string text, out RequestedMode mode)
    {
        mode = text.Trim().ToLowerInvariant() switch
        {
            "auto" => RequestedMode.Auto,
            "local" => RequestedMode.Local,
            "gpu" or "escalate" => RequestedMode.Gpu,
            "speculative" => RequestedMode.Speculative,
            _ => (RequestedMode)(-1),
        };
        return mode >= 0;
    }

    /// <summary>A message's content as text: a string, or an array of text parts. <paramref name="badText"/> is set when a
    /// string is not valid text (an unpaired surrogate escape).</summary>
    private static bool TryText(JsonElement content, out string? text, out bool badText)
    {
        text = null;
        badText = false;
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                badText = !TryString(content, out text);
                return !badText;
            case JsonValueKind.Array:
                var sb = new System.Text.StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) ||
                        type.ValueKind != JsonValueKind.String || !type.ValueEquals("text") ||
                        !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                    {
                        return false;
                    }

                    if (!TryString(t, out string? partText))
                    {
                        badText = true;
                        return false;
                    }

                    sb.Append(partText);
                }

                text = sb.ToString();
                return true;
            default:
                return false;
        }
    }

    private static bool TryDeserialize<T>(ReadOnlySpan<byte> body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type,
        out T? value, out ApiError? error)
        where T : class
    {
        value = null;
        error = null;
        if (body.IsEmpty)
        {
            error = ApiError.Invalid("request body is empty; expected a JSON object");
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            error = ApiError.Invalid($"request body is not valid UTF-8 (invalid byte sequence at byte {InvalidUtf8At(body)}); JSON must be UTF-8 text");
            return false;
        }

        try
        {
            value = JsonSerializer.Deserialize(body, type);
        }
        catch (Exception e) when ((e is InvalidOperationException || e.InnerException is InvalidOperationException) && HasUndecodableString(body))
        {
            // A string the reader cannot turn into text: an escaped unpaired surrogate such as \ud800.
            error = NotText(Param((e as JsonException)?.Path));
            return false;
        }
        catch (JsonException e)
        {
            // A value of the wrong type names its field; broken JSON syntax is a body problem.
            string? param = Param(e.Path);
            bool typeError = e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            error = param is null || !typeError
                ? ApiError.Invalid($"request body is not valid JSON: {Trim(e.Message)}")
                : ApiError.Invalid($"field '{param}' has the wrong type: {Trim(e.Message)}", param);
            return false;
        }

        if (value is null)
        {
            error = ApiError.Invalid("request body must be a JSON object");
            return false;
        }

        return true;
    }

    /// <summary>Reads a JSON string as text; false when it is not valid text (an escaped unpaired surrogate such as
    /// <c>\ud800</c>: the bytes are valid UTF-8, the escape is not a character).</summary>
    private static bool TryString(JsonElement element, out string? text)
    {
        try
        {
            text = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    /// <summary>True when a string or property name of the (syntactically valid) JSON does not decode to text.</summary>
    private static bool HasUndecodableString(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    try
                    {
                        _ = reader.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        return true;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Broken syntax further on: not this kind of problem.
        }

        return false;
    }

    private static ApiError NotText(string? field) => ApiError.Invalid(
        $"{(field is null ? "a string in the request body" : $"field '{field}'")} is not valid text: it holds an unpaired UTF-16 surrogate escape such as \\ud800",
        field);

    /// <summary>The offset of the first byte that does not begin a valid UTF-8 sequence.</summary>
    private static int InvalidUtf8At(ReadOnlySpan<byte> body)
    {
        int offset = 0;
        while (offset < body.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(body[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    /// <summary>"$.messages[0].role" → "messages[0].role"; "$" or nothing → null.</summary>
    private static string? Param(string? path) =>
        path is null or "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    private static string Trim(string message)
    {
        int i = message.IndexOf(" Path:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    private static string Quote(string? s) => s is null ? "nothing" : $"'{ApiError.Echo(s)}'";
}
