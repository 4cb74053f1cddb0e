using System.Text.Json;

namespace DataPlane.Edge.Runtimes;

/// <summary>Parses the Server-Sent Events stream of OpenAI-compatible endpoints as llama.cpp server
/// emits them, one line at a time.
/// <list type="bullet">
/// <item>Blank lines (event separators), comments (": ...") and fields other than <c>data</c>
/// (<c>event</c>, <c>id</c>, <c>retry</c>) carry nothing.</item>
/// <item><c>data: [DONE]</c> ends the stream.</item>
/// <item>Any other <c>data:</c> line is one JSON chunk (llama.cpp never splits a chunk over several
/// data lines). From <c>choices[0]</c>: the text (<c>delta.content</c> for chat,
/// <c>text</c> for completions), <c>finish_reason</c>, and <c>logprobs</c>, either
/// <c>{"content":[{"logprob":…},…]}</c> (chat, and llama.cpp's completions) or the legacy completions
/// shape <c>{"token_logprobs":[…]}</c>; several tokens in one chunk have their log-probabilities
/// summed. From the chunk: <c>usage.prompt_tokens</c> / <c>usage.completion_tokens</c> (the last
/// seen wins; llama.cpp sends them in a last chunk with empty <c>choices</c>), and an in-band
/// <c>error</c>.</item>
/// </list></summary>
internal sealed class OpenAiSseParser : StreamParser
{
    /// <summary>A stream that said why it finished may end without <c>[DONE]</c>.</summary>
    public override bool CanEndWithoutMarker => FinishReason != null;

    public override ParsedLine Parse(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || line[0] == (byte)':' || !line.StartsWith("data:"u8))
        {
            return default;
        }

        var data = line["data:"u8.Length..].Trim(" \t"u8);
        if (data.IsEmpty)
        {
            return default;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            return new ParsedLine(null, Done: true);
        }

        return ParseChunk(data);
    }

    private ParsedLine ParseChunk(ReadOnlySpan<byte> json)
    {
        var reader = ObjectReader(json);
        string? text = null;
        double? logprob = null;
        string? error = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("choices"u8))
            {
                ReadChoices(ref reader, ref text, ref logprob);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                ReadUsage(ref reader);
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
        return new ParsedLine(text, logprob, Error: error);
    }

    private void ReadChoices(ref Utf8JsonReader reader, ref string? text, ref double? logprob)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new InvalidDataException("choices is not an array");
        }

        bool first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException("an element of choices is not an object");
            }

            if (first)
            {
                ReadChoice(ref reader, ref text, ref logprob);
                first = false;
            }
            else
            {
                // We ask for one choice; others (n > 1) are not ours to merge.
                reader.Skip();
            }
        }
    }

    private void ReadChoice(ref Utf8JsonReader reader, ref string? text, ref double? logprob)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("content"u8))
                        {
                            text = ReadStringOrNull(ref reader, "choices[0].delta.content");
                        }
                        else
                        {
                            SkipValue(ref reader);
                        }
                    }
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    throw new InvalidDataException("choices[0].delta is not an object");
                }
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                text = ReadStringOrNull(ref reader, "choices[0].text");
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                FinishReason = ReadFinishReason(ref reader, "choices[0].finish_reason") ?? FinishReason;
            }
            else if (reader.ValueTextEquals("logprobs"u8))
            {
                logprob = ReadLogprobs(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }
    }

    /// <summary>Sum of the log-probabilities in a <c>logprobs</c> object, or null when it lists none.</summary>
    private static double? ReadLogprobs(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("choices[0].logprobs is not an object");
        }

        double? sum = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new InvalidDataException("choices[0].logprobs.content is not an array");
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    sum = (sum ?? 0) + ReadTokenEntry(ref reader, "choices[0].logprobs.content[]");
                }
            }
            else if (reader.ValueTextEquals("token_logprobs"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new InvalidDataException("choices[0].logprobs.token_logprobs is not an array");
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double value) || value > 0)
                    {
                        throw new InvalidDataException("choices[0].logprobs.token_logprobs holds something other than log-probabilities");
                    }

                    sum = (sum ?? 0) + value;
                }
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return sum;
    }

    private void ReadUsage(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("usage is not an object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                PromptTokens = ReadCountOrNull(ref reader, "usage.prompt_tokens") ?? PromptTokens;
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                CompletionTokens = ReadCountOrNull(ref reader, "usage.completion_tokens") ?? CompletionTokens;
            }
            else
            {
                SkipValue(ref reader);
            }
        }
    }
}
