using System.Text;
using System.Text.Json;
using DataPlane.Edge.Contract;

namespace DataPlane.Bench.Agent;

/// <summary>The agent's <c>dataplane</c> extension as the client saw it at the end of an answer.</summary>
public sealed record DataplaneSummary(string? Path, string? Reason, string? AnsweredBy, bool Replaced, double? Score, double? TimeToFirstTokenMs);

/// <summary>What a client read from one chat completion answer (streamed or not).</summary>
public sealed class ChatAnswer
{
    private readonly StringBuilder _text = new();

    /// <summary>Clock reading (ns) when the first non-empty content arrived; null when none did.</summary>
    public long? FirstContentNs { get; internal set; }

    /// <summary>Events (or, unstreamed, messages) that carried non-empty content.</summary>
    public int ContentChunks { get; internal set; }

    /// <summary>The answer's text; a replace event starts it over.</summary>
    public string Text => _text.ToString();

    /// <summary>The last <c>choices[0].finish_reason</c> seen.</summary>
    public string? FinishReason { get; internal set; }

    /// <summary>The final <c>dataplane</c> object; null when the answer had none (a plain runtime).</summary>
    public DataplaneSummary? Dataplane { get; internal set; }

    /// <summary>Replace events (<c>event: replace</c>, or a chunk whose dataplane object says <c>"replace": true</c>).</summary>
    public int ReplaceEvents { get; internal set; }

    /// <summary>The path named by the last replace event.</summary>
    public string? ReplacePath { get; internal set; }

    /// <summary>Message of an error object in the answer (an error event mid-stream); null when none.</summary>
    public string? Error { get; internal set; }

    /// <summary>Why the answer could not be read (malformed JSON); null when it could.</summary>
    public string? ProtocolError { get; internal set; }

    /// <summary>True when the stream ended with <c>data: [DONE]</c>.</summary>
    public bool Done { get; internal set; }

    /// <summary><c>usage.completion_tokens</c>, when the answer carried usage.</summary>
    public int? CompletionTokens { get; internal set; }

    /// <summary>Complete: [DONE] or a finish reason was seen, and neither an error object nor malformed data.</summary>
    public bool Succeeded => Error is null && ProtocolError is null && (Done || FinishReason is not null);

    internal void AppendContent(string text, long now)
    {
        if (text.Length == 0)
        {
            return;
        }

        FirstContentNs ??= now;
        ContentChunks++;
        _text.Append(text);
    }

    internal void Restart() => _text.Clear();
}

/// <summary>Reads chat completion answers as a client does: server-sent events line by line as they
/// arrive (<c>event:</c> and <c>data:</c> fields, events ending at a blank line, several <c>data:</c>
/// lines joined by '\n', comment lines ignored) or one JSON body. Understands OpenAI's chunk format and
/// the agent's extensions: chunks with <c>choices[0].delta.content</c> (or <c>text</c>), the last chunk's
/// <c>finish_reason</c> and top-level <c>dataplane</c> object, <c>event: replace</c>, error events
/// <c>data: {"error": {...}}</c>, a usage chunk with empty <c>choices</c>, and <c>data: [DONE]</c>.
/// Tolerates their absence (a plain llama.cpp-style runtime sends no <c>dataplane</c> object).</summary>
public static class ChatAnswerReader
{
    /// <summary>Longest SSE line accepted.</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>Reads an SSE stream to its end. <paramref name="clock"/> gives the time (ns) recorded
    /// when the first content arrives: read when the event's last line was read, before it is parsed.</summary>
    /// <exception cref="InvalidDataException">A line is longer than <see cref="MaxLineBytes"/>.</exception>
    public static async Task<ChatAnswer> ReadStreamAsync(Stream body, Func<long> clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(clock);
        var answer = new ChatAnswer();
        using var lines = new Utf8LineReader(body, MaxLineBytes);
        string? eventName = null;
        var data = new List<byte[]>();
        while (await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } memory)
        {
            long now = clock();
            var line = memory.Span;
            if (line.IsEmpty)
            {
                Dispatch(answer, eventName, data, now);
                eventName = null;
                data.Clear();
                continue;
            }

            if (line[0] == (byte)':')
            {
                continue;
            }

            int colon = line.IndexOf((byte)':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (field.SequenceEqual("data"u8))
            {
                data.Add(value.ToArray());
            }
            else if (field.SequenceEqual("event"u8))
            {
                eventName = Encoding.UTF8.GetString(value);
            }
        }

        // A last event without its blank line still counts.
        Dispatch(answer, eventName, data, clock());
        return answer;
    }

    /// <summary>Reads a non-streamed answer (one JSON object); <paramref name="now"/> is the time its
    /// content counts as arrived (the end of the body).</summary>
    public static ChatAnswer ReadJson(ReadOnlySpan<byte> body, long now)
    {
        var answer = new ChatAnswer();
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                answer.ProtocolError = "the answer is not a JSON object";
                return answer;
            }

            ReadError(answer, root);
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.ValueKind == JsonValueKind.Object)
                {
                    if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                        && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    {
                        answer.AppendContent(content.GetString()!, now);
                    }
                    else if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        answer.AppendContent(text.GetString()!, now);
                    }

                    ReadFinish(answer, choice);
                }
            }

            ReadDataplane(answer, root, replaceEvent: false);
            ReadUsage(answer, root);
        }
        catch (JsonException e)
        {
            answer.ProtocolError = $"the answer is not JSON: {e.Message}";
        }

        return answer;
    }

    /// <summary>The <c>error.message</c> of an OpenAI error body, or null when it has none.</summary>
    public static string? ErrorMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error)
                ? error.ValueKind switch
                {
                    JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString(),
                    JsonValueKind.String => error.GetString(),
                    _ => null,
                }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Dispatch(ChatAnswer answer, string? eventName, List<byte[]> data, long now)
    {
        if (data.Count == 0)
        {
            return;
        }

        byte[] payload = data.Count == 1 ? data[0] : Join(data);
        if (payload.AsSpan().Trim((byte)' ').SequenceEqual("[DONE]"u8))
        {
            answer.Done = true;
            return;
        }

        bool replace = eventName == "replace";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            answer.ProtocolError ??= $"an event is not JSON: {e.Message}";
            if (replace)
            {
                answer.ReplaceEvents++;
                answer.Restart();
            }

            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                answer.ProtocolError ??= "an event is not a JSON object";
                return;
            }

            ReadError(answer, root);
            if (root.TryGetProperty("dataplane", out var dp) && dp.ValueKind == JsonValueKind.Object
                && dp.TryGetProperty("replace", out var r) && r.ValueKind == JsonValueKind.True)
            {
                replace = true;
            }

            if (replace)
            {
                answer.ReplaceEvents++;
                answer.Restart();
            }

            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.ValueKind == JsonValueKind.Object)
                {
                    if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                    {
                        if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                        {
                            answer.AppendContent(content.GetString()!, now);
                        }
                    }
                    else if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        answer.AppendContent(text.GetString()!, now);
                    }

                    ReadFinish(answer, choice);
                }
            }

            ReadDataplane(answer, root, replace);
            ReadUsage(answer, root);
        }
    }

    private static byte[] Join(List<byte[]> data)
    {
        int length = data.Sum(d => d.Length) + data.Count - 1;
        var joined = new byte[length];
        int at = 0;
        for (int i = 0; i < data.Count; i++)
        {
            if (i > 0)
            {
                joined[at++] = (byte)'\n';
            }

            data[i].CopyTo(joined, at);
            at += data[i].Length;
        }

        return joined;
    }

    private static void ReadError(ChatAnswer answer, JsonElement root)
    {
        if (!root.TryGetProperty("error", out var error) || error.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        answer.Error ??= error.ValueKind switch
        {
            JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString()!,
            JsonValueKind.String => error.GetString()!,
            _ => error.GetRawText(),
        };
    }

    private static void ReadFinish(ChatAnswer answer, JsonElement choice)
    {
        if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            answer.FinishReason = finish.GetString();
        }
    }

    private static void ReadDataplane(ChatAnswer answer, JsonElement root, bool replaceEvent)
    {
        if (!root.TryGetProperty("dataplane", out var dp) || dp.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        string? path = String(dp, "path");
        if (replaceEvent)
        {
            answer.ReplacePath = path ?? answer.ReplacePath;
            return;
        }

        answer.Dataplane = new DataplaneSummary(
            path,
            String(dp, "reason"),
            String(dp, "answered_by"),
            dp.TryGetProperty("replaced", out var replaced) && replaced.ValueKind == JsonValueKind.True,
            Number(dp, "score"),
            Number(dp, "ttft_ms"));
    }

    private static void ReadUsage(ChatAnswer answer, JsonElement root)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
            && usage.TryGetProperty("completion_tokens", out var tokens) && tokens.ValueKind == JsonValueKind.Number && tokens.TryGetInt32(out int n))
        {
            answer.CompletionTokens = n;
        }
    }

    private static string? String(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double? Number(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) ? d : null;
}
