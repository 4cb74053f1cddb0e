using System.Text.Json;

namespace DataPlane.Edge.Runtimes;

/// <summary>Parses Ollama's NDJSON stream (also hailo-ollama's), one JSON object per line:
/// the text is <c>message.content</c> (<c>/api/chat</c>) or <c>response</c> (<c>/api/generate</c>);
/// <c>done: true</c> ends the stream, with <c>done_reason</c> ("stop" when absent, as in older
/// Ollama), <c>prompt_eval_count</c> and <c>eval_count</c>. Log-probabilities come in a per-line
/// <c>logprobs</c> array of <c>{"token","logprob",…}</c>; a line with several tokens gets their sum,
/// a line without the array none. An in-band <c>error</c> (Ollama writes <c>{"error":"…"}</c> when
/// a stream fails after its headers) is reported. Blank lines carry nothing.</summary>
internal sealed class OllamaNdjsonParser : StreamParser
{
    public override ParsedLine Parse(ReadOnlySpan<byte> line)
    {
        if (line.Trim(" \t"u8).IsEmpty)
        {
            return default;
        }

        var reader = ObjectReader(line);
        string? text = null;
        double? logprob = null;
        string? error = null;
        bool done = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message"u8))
            {
                text = ReadMessageContent(ref reader) ?? text;
            }
            else if (reader.ValueTextEquals("response"u8))
            {
                text = ReadStringOrNull(ref reader, "response") ?? text;
            }
            else if (reader.ValueTextEquals("done"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    throw new InvalidDataException("done is not a boolean");
                }

                done = reader.GetBoolean();
            }
            else if (reader.ValueTextEquals("done_reason"u8))
            {
                FinishReason = ReadFinishReason(ref reader, "done_reason") ?? FinishReason;
            }
            else if (reader.ValueTextEquals("prompt_eval_count"u8))
            {
                PromptTokens = ReadCountOrNull(ref reader, "prompt_eval_count") ?? PromptTokens;
            }
            else if (reader.ValueTextEquals("eval_count"u8))
            {
                CompletionTokens = ReadCountOrNull(ref reader, "eval_count") ?? CompletionTokens;
            }
            else if (reader.ValueTextEquals("logprobs"u8))
            {
                logprob = ReadLogprobs(ref reader);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                error = ReadError(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        ExpectEnd(ref reader);
        return new ParsedLine(text, logprob, done, error);
    }

    private static string? ReadMessageContent(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("message is not an object");
        }

        string? content = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                content = ReadStringOrNull(ref reader, "message.content");
            }
            else
            {
                // role, thinking (reasoning models), tool_calls, images: not answer text.
                SkipValue(ref reader);
            }
        }

        return content;
    }

    private static double? ReadLogprobs(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new InvalidDataException("logprobs is not an array");
        }

        double? sum = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            sum = (sum ?? 0) + ReadTokenEntry(ref reader, "logprobs[]");
        }

        return sum;
    }
}
