using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Edge.Api;

/// <summary>POST /v1/chat/completions body: the fields the agent honours. Unknown fields are
/// ignored, as OpenAI-compatible servers do.</summary>
public sealed class ChatCompletionRequestDto
{
    [JsonPropertyName("model")] public string? Model { get; set; }

    [JsonPropertyName("messages")] public List<ChatMessageDto>? Messages { get; set; }

    [JsonPropertyName("stream")] public bool? Stream { get; set; }

    [JsonPropertyName("stream_options")] public StreamOptionsDto? StreamOptions { get; set; }

    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }

    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; set; }

    [JsonPropertyName("temperature")] public double? Temperature { get; set; }

    [JsonPropertyName("top_p")] public double? TopP { get; set; }

    [JsonPropertyName("n")] public int? N { get; set; }

    /// <summary>A string or an array of strings.</summary>
    [JsonPropertyName("stop")] public JsonElement Stop { get; set; }

    [JsonPropertyName("dataplane")] public DataplaneOptionsDto? Dataplane { get; set; }
}

/// <summary>One chat message; <c>content</c> is a string or an array of content parts.</summary>
public sealed class ChatMessageDto
{
    [JsonPropertyName("role")] public string? Role { get; set; }

    [JsonPropertyName("content")] public JsonElement Content { get; set; }
}

/// <summary>POST /v1/completions body.</summary>
public sealed class CompletionRequestDto
{
    [JsonPropertyName("model")] public string? Model { get; set; }

    /// <summary>A string, or an array holding one string.</summary>
    [JsonPropertyName("prompt")] public JsonElement Prompt { get; set; }

    [JsonPropertyName("stream")] public bool? Stream { get; set; }

    [JsonPropertyName("stream_options")] public StreamOptionsDto? StreamOptions { get; set; }

    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }

    [JsonPropertyName("temperature")] public double? Temperature { get; set; }

    [JsonPropertyName("top_p")] public double? TopP { get; set; }

    [JsonPropertyName("n")] public int? N { get; set; }

    [JsonPropertyName("echo")] public bool? Echo { get; set; }

    [JsonPropertyName("stop")] public JsonElement Stop { get; set; }

    [JsonPropertyName("dataplane")] public DataplaneOptionsDto? Dataplane { get; set; }
}

public sealed class StreamOptionsDto
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; set; }
}

/// <summary>DataPlane's request extension (also settable by headers): the serving mode, replace
/// events, and the latency objective.</summary>
public sealed class DataplaneOptionsDto
{
    /// <summary>"auto" (default), "local", "gpu" or "speculative".</summary>
    [JsonPropertyName("mode")] public string? Mode { get; set; }

    /// <summary>Opt in to replace events in speculative streams.</summary>
    [JsonPropertyName("replace")] public bool? Replace { get; set; }

    /// <summary>Time-to-first-token objective in milliseconds.</summary>
    [JsonPropertyName("slo_ms")] public double? SloMs { get; set; }
}

/// <summary>DataPlane's response extension: which path answered and why.</summary>
public sealed record DataplaneInfo(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("answered_by")] string AnsweredBy,
    [property: JsonPropertyName("replaced")] bool Replaced,
    [property: JsonPropertyName("score")] double? Score,
    [property: JsonPropertyName("ttft_ms")] double? TimeToFirstTokenMs);

public sealed record UsageDto(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

public sealed record ChatResponseMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatResponseMessage Message,
    [property: JsonPropertyName("logprobs")] object? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] UsageDto Usage,
    [property: JsonPropertyName("dataplane")] DataplaneInfo Dataplane);

public sealed record TextChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("logprobs")] object? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record TextCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<TextChoice> Choices,
    [property: JsonPropertyName("usage")] UsageDto Usage,
    [property: JsonPropertyName("dataplane")] DataplaneInfo Dataplane);

public sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data);

public sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

public sealed record ErrorResponse([property: JsonPropertyName("error")] ErrorBody Error);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ChatCompletionRequestDto))]
[JsonSerializable(typeof(CompletionRequestDto))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(TextCompletionResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(DataplaneInfo))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext;
