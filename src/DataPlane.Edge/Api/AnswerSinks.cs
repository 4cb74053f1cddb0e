using System.Buffers;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Contract;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Edge.Api;

/// <summary>Shared identity of one answer: id, creation time, model, endpoint.</summary>
public sealed record AnswerIdentity(string Id, long Created, string Model, EdgeEndpoint Endpoint)
{
    public static AnswerIdentity For(EdgeRequest request, TimeProvider time) =>
        new((request.Endpoint == EdgeEndpoint.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24],
            time.GetUtcNow().ToUnixTimeSeconds(), request.Model, request.Endpoint);
}

/// <summary>Collects the answer and writes one JSON response at the end (non-streaming clients).</summary>
public sealed class JsonAnswerSink : IAnswerSink
{
    private readonly HttpResponse _response;
    private readonly AnswerIdentity _id;
    private readonly StringBuilder _text = new();

    public JsonAnswerSink(HttpResponse response, AnswerIdentity id)
    {
        _response = response;
        _id = id;
    }

    public bool Started { get; private set; }

    public ValueTask BeginAsync(string path, CancellationToken cancellationToken)
    {
        Started = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask TokenAsync(string text, CancellationToken cancellationToken)
    {
        _text.Append(text);
        return ValueTask.CompletedTask;
    }

    public ValueTask ReplaceAsync(string path, CancellationToken cancellationToken)
    {
        _text.Clear();
        return ValueTask.CompletedTask;
    }

    public async ValueTask FinishAsync(string finishReason, UsageDto usage, DataplaneInfo info, CancellationToken cancellationToken)
    {
        _response.Headers[EdgeHeaders.Path] = info.Path;
        _response.ContentType = "application/json";
        if (_id.Endpoint == EdgeEndpoint.Chat)
        {
            var body = new ChatCompletionResponse(_id.Id, "chat.completion", _id.Created, _id.Model,
                [new ChatChoice(0, new ChatResponseMessage("assistant", _text.ToString()), null, finishReason)], usage, info);
            await JsonSerializer.SerializeAsync(_response.Body, body, OpenAiJsonContext.Default.ChatCompletionResponse, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var body = new TextCompletionResponse(_id.Id, "text_completion", _id.Created, _id.Model,
                [new TextChoice(0, _text.ToString(), null, finishReason)], usage, info);
            await JsonSerializer.SerializeAsync(_response.Body, body, OpenAiJsonContext.Default.TextCompletionResponse, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Streams the answer as server-sent events in OpenAI's chunk format: a first chunk with
/// the assistant role, one chunk per token, a last chunk with <c>finish_reason</c> and the
/// <c>dataplane</c> extension, a usage chunk with empty <c>choices</c> when asked, then
/// <c>data: [DONE]</c>. Each event is written with a Utf8JsonWriter straight into the response
/// pipe and flushed, so a token reaches the client as soon as the runtime produced it.</summary>
public sealed class SseAnswerSink : IAnswerSink
{
    private static readonly byte[] s_data = "data: "u8.ToArray();
    private static readonly byte[] s_end = "\n\n"u8.ToArray();
    private static readonly byte[] s_replace = "event: replace\n"u8.ToArray();
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    private readonly HttpResponse _response;
    private readonly AnswerIdentity _id;
    private readonly bool _includeUsage;
    private readonly Utf8JsonWriter _json;

    public SseAnswerSink(HttpResponse response, AnswerIdentity id, bool includeUsage)
    {
        _response = response;
        _id = id;
        _includeUsage = includeUsage;
        _json = new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions { SkipValidation = true });
    }

    public bool Started { get; private set; }

    public async ValueTask BeginAsync(string path, CancellationToken cancellationToken)
    {
        Started = true;
        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = "text/event-stream";
        _response.Headers.CacheControl = "no-cache";
        _response.Headers[EdgeHeaders.Path] = path;
        _response.Headers["X-Accel-Buffering"] = "no";
        if (_id.Endpoint == EdgeEndpoint.Chat)
        {
            await WriteChunkAsync(role: true, text: "", finishReason: null, info: null, replace: null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask TokenAsync(string text, CancellationToken cancellationToken) =>
        WriteChunkAsync(role: false, text, finishReason: null, info: null, replace: null, cancellationToken);

    public ValueTask ReplaceAsync(string path, CancellationToken cancellationToken) =>
        WriteChunkAsync(role: false, text: null, finishReason: null, info: null, replace: path, cancellationToken);

    public async ValueTask FinishAsync(string finishReason, UsageDto usage, DataplaneInfo info, CancellationToken cancellationToken)
    {
        await WriteChunkAsync(role: false, text: null, finishReason, info, replace: null, cancellationToken).ConfigureAwait(false);
        if (_includeUsage)
        {
            WriteEnvelopeStart(null);
            _json.WriteStartArray("choices");
            _json.WriteEndArray();
            _json.WriteStartObject("usage");
            _json.WriteNumber("prompt_tokens", usage.PromptTokens);
            _json.WriteNumber("completion_tokens", usage.CompletionTokens);
            _json.WriteNumber("total_tokens", usage.TotalTokens);
            _json.WriteEndObject();
            _json.WriteEndObject();
            EndEvent();
        }

        _response.BodyWriter.Write(s_done);
        await _response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteChunkAsync(bool role, string? text, string? finishReason, DataplaneInfo? info, string? replace,
        CancellationToken cancellationToken)
    {
        WriteEnvelopeStart(replace != null ? s_replace : null);
        _json.WriteStartArray("choices");
        _json.WriteStartObject();
        _json.WriteNumber("index", 0);
        if (_id.Endpoint == EdgeEndpoint.Chat)
        {
            _json.WriteStartObject("delta");
            if (role)
            {
                _json.WriteString("role", "assistant");
            }

            if (text != null)
            {
                _json.WriteString("content", text);
            }

            _json.WriteEndObject();
        }
        else
        {
            _json.WriteString("text", text ?? "");
        }

        _json.WriteNull("logprobs");
        if (finishReason != null)
        {
            _json.WriteString("finish_reason", finishReason);
        }
        else
        {
            _json.WriteNull("finish_reason");
        }

        _json.WriteEndObject();
        _json.WriteEndArray();
        if (info != null)
        {
            _json.WritePropertyName("dataplane");
            JsonSerializer.Serialize(_json, info, OpenAiJsonContext.Default.DataplaneInfo);
        }
        else if (replace != null)
        {
            _json.WriteStartObject("dataplane");
            _json.WriteBoolean("replace", true);
            _json.WriteString("path", replace);
            _json.WriteEndObject();
        }

        _json.WriteEndObject();
        EndEvent();
        await _response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void WriteEnvelopeStart(byte[]? eventLine)
    {
        if (eventLine != null)
        {
            _response.BodyWriter.Write(eventLine);
        }

        _response.BodyWriter.Write(s_data);
        _json.Reset(_response.BodyWriter);
        _json.WriteStartObject();
        _json.WriteString("id", _id.Id);
        _json.WriteString("object", _id.Endpoint == EdgeEndpoint.Chat ? "chat.completion.chunk" : "text_completion");
        _json.WriteNumber("created", _id.Created);
        _json.WriteString("model", _id.Model);
    }

    private void EndEvent()
    {
        _json.Flush();
        _response.BodyWriter.Write(s_end);
    }
}
