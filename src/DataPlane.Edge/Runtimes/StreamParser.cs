using System.Text.Json;

namespace DataPlane.Edge.Runtimes;

/// <summary>What one line of a runtime's stream said: a piece of text (with the summed log-probability
/// of its tokens when reported), that the stream is done, or an error the runtime reported in-band.
/// The default value is a line that carries nothing (a comment, a keep-alive, an empty delta).</summary>
internal readonly record struct ParsedLine(string? Text, double? Logprob = null, bool Done = false, string? Error = null);

/// <summary>Parses one runtime's stream, one line at a time, with a <see cref="Utf8JsonReader"/> over
/// the line's bytes (no DOM, no reflection). Remembers what the stream said about its end (finish
/// reason, token counts) for the final chunk. Throws <see cref="InvalidDataException"/> or
/// <see cref="JsonException"/> on a malformed line; the runtime adds its name and URL.</summary>
internal abstract class StreamParser
{
    /// <summary>"stop", "length" or what the runtime said; null until it said.</summary>
    public string? FinishReason { get; protected set; }

    public int? PromptTokens { get; protected set; }

    public int? CompletionTokens { get; protected set; }

    /// <summary>True when the stream may end (end of body) without an explicit end marker, because
    /// the runtime already said why it finished.</summary>
    public virtual bool CanEndWithoutMarker => false;

    public abstract ParsedLine Parse(ReadOnlySpan<byte> line);

    /// <summary>The last chunk of the stream: no text, the finish reason ("stop" when the runtime
    /// gave none) and the token counts when known.</summary>
    public TokenChunk Final() => new(string.Empty, null, FinishReason ?? "stop", PromptTokens, CompletionTokens);

    /// <summary>Reader over one complete JSON value; the first token must start an object.</summary>
    protected static Utf8JsonReader ObjectReader(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("the line is not a JSON object");
        }

        return reader;
    }

    /// <summary>Reads the value after a property name: a string or null.</summary>
    protected static string? ReadStringOrNull(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new InvalidDataException($"{what} is a {reader.TokenType}, not a string"),
        };
    }

    /// <summary>Reads a finish reason, sharing the common strings instead of allocating them.</summary>
    protected static string? ReadFinishReason(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidDataException($"{what} is a {reader.TokenType}, not a string");
        }

        return reader.ValueTextEquals("stop"u8) ? "stop"
            : reader.ValueTextEquals("length"u8) ? "length"
            : reader.GetString();
    }

    /// <summary>Reads the value after a property name: an integer or null.</summary>
    protected static int? ReadCountOrNull(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int value) || value < 0)
        {
            throw new InvalidDataException($"{what} is not a non-negative integer");
        }

        return value;
    }

    /// <summary>Reads the value after a property name: a number (a log-probability).</summary>
    protected static double ReadLogprob(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double value) || double.IsNaN(value) || value > 0)
        {
            throw new InvalidDataException($"{what} is not a log-probability (a number <= 0)");
        }

        return value;
    }

    /// <summary>Reads one <c>{"token":…,"logprob":…,…}</c> entry and returns its log-probability.</summary>
    protected static double ReadTokenEntry(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException($"an element of {what[..^2]} is not an object");
        }

        double? logprob = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("logprob"u8))
            {
                logprob = ReadLogprob(ref reader, what + ".logprob");
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return logprob ?? throw new InvalidDataException($"{what} has no logprob");
    }

    /// <summary>Reads an in-band error: a string, or an object whose "message" is used.</summary>
    protected static string ReadError(ref Utf8JsonReader reader)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString() ?? "error";
            case JsonTokenType.StartObject:
                string? message = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("message"u8))
                    {
                        reader.Read();
                        message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            reader.Skip();
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                return message ?? "error (no message)";
            default:
                reader.Skip();
                return "error (no message)";
        }
    }

    /// <summary>Skips the value after a property name.</summary>
    protected static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    /// <summary>Called after the last property of the top-level object: nothing may follow it.</summary>
    protected static void ExpectEnd(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new InvalidDataException("the JSON object is incomplete");
        }

        // With the whole line as the final block, Read throws JsonException on trailing data.
        if (reader.Read())
        {
            throw new InvalidDataException("data follows the JSON object");
        }
    }
}
