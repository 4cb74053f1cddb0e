using System.Text.Json;
using System.Text.Unicode;
using Grpc.Core;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>One JSON value of a request body that has been checked for syntax (<see cref="Validate"/>), read lazily:
/// the value's own bytes and its kind. Objects list their members in one pass; nothing is materialised that a
/// handler does not ask for, so a 60 MB <c>data</c> array costs no tree. Accessors fail with the texts of Triton's
/// JSON layer (INTERNAL, so HTTP 500), e.g. <c>attempt to access JSON non-string as string</c>, which Triton's
/// handlers prefix with <c>Unable to parse '&lt;field&gt;'</c>.</summary>
internal readonly struct JsonView
{
    /// <summary>Nested arrays deeper than this fail to parse (a 255-dimension tensor still fits).</summary>
    public const int MaxDepth = 256;

    private static readonly JsonReaderOptions s_options = new() { MaxDepth = MaxDepth };

    private readonly ReadOnlyMemory<byte> _json;

    private JsonView(ReadOnlyMemory<byte> json, JsonTokenType kind)
    {
        _json = json;
        Kind = kind;
    }

    /// <summary>The token kind: StartObject, StartArray, String, Number, True, False or Null; None when absent.</summary>
    public JsonTokenType Kind { get; }

    public bool Exists => Kind != JsonTokenType.None;

    public bool IsNull => Kind == JsonTokenType.Null;

    public bool IsObject => Kind == JsonTokenType.StartObject;

    public bool IsArray => Kind == JsonTokenType.StartArray;

    public bool IsString => Kind == JsonTokenType.String;

    public bool IsBool => Kind is JsonTokenType.True or JsonTokenType.False;

    /// <summary>The value's bytes exactly as they arrived.</summary>
    public ReadOnlyMemory<byte> Raw => _json;

    public static Utf8JsonReader Reader(ReadOnlySpan<byte> json) => new(json, isFinalBlock: true, state: new JsonReaderState(s_options));

    /// <summary>The root value of <paramref name="json"/>, which must have passed <see cref="Validate"/>.</summary>
    public static JsonView Root(ReadOnlyMemory<byte> json)
    {
        var reader = Reader(json.Span);
        reader.Read();
        return At(ref reader, json);
    }

    /// <summary>The value whose first token <paramref name="reader"/> (over <paramref name="json"/>) is on; leaves the
    /// reader on the value's last token.</summary>
    public static JsonView At(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json)
    {
        var kind = reader.TokenType;
        int start = (int)reader.TokenStartIndex;
        if (kind is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
        }

        return new JsonView(json[start..(int)reader.BytesConsumed], kind);
    }

    /// <summary>Checks that <paramref name="json"/> is one well-formed JSON value, with strings in valid UTF-8 and
    /// numbers a double can hold, as rapidjson's default parse (Triton's) requires. Throws INTERNAL
    /// <c>failed to parse the request JSON buffer: &lt;what&gt; at &lt;byte offset&gt;</c>.</summary>
    public static void Validate(ReadOnlySpan<byte> json)
    {
        int first = 0;
        while (first < json.Length && json[first] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            first++;
        }

        if (first == json.Length)
        {
            throw ParseError("The document is empty.", first);
        }

        var reader = Reader(json);
        bool rootDone = false;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                    case JsonTokenType.PropertyName:
                        if (!IsValidString(ref reader))
                        {
                            throw ParseError("Invalid encoding in string.", reader.TokenStartIndex);
                        }

                        break;
                    case JsonTokenType.Number:
                        if (!reader.TryGetDouble(out double d) || !double.IsFinite(d))
                        {
                            throw ParseError("Number too big to be stored in double.", reader.TokenStartIndex);
                        }

                        break;
                }

                rootDone = reader.CurrentDepth == 0 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray);
            }
        }
        catch (JsonException e)
        {
            long offset = Offset(json, e.LineNumber ?? 0, e.BytePositionInLine ?? 0);
            throw ParseError(rootDone ? "The document root must not be followed by other values." : Describe(e), offset);
        }
    }

    /// <summary>The members of an object in order (empty when this is not an object, as Triton's lookups find
    /// nothing in a non-object).</summary>
    public JsonMembers Members()
    {
        var members = new List<KeyValuePair<string, JsonView>>();
        if (!IsObject)
        {
            return new JsonMembers(members, false);
        }

        var reader = Reader(_json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            members.Add(new(name, At(ref reader, _json)));
        }

        return new JsonMembers(members, true);
    }

    /// <summary>The elements of an array (empty when this is not an array). For small arrays only: tensor data is
    /// walked by <see cref="JsonTensorData"/>.</summary>
    public List<JsonView> Items()
    {
        var items = new List<JsonView>();
        if (!IsArray)
        {
            return items;
        }

        var reader = Reader(_json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(At(ref reader, _json));
        }

        return items;
    }

    public string AsString()
    {
        if (!IsString)
        {
            throw Internal("attempt to access JSON non-string as string");
        }

        var reader = Reader(_json.Span);
        reader.Read();
        return reader.GetString()!;
    }

    public bool AsBool() => Kind switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Internal("attempt to access JSON non-boolean as boolean"),
    };

    /// <summary>An integer token that fits a uint64 (rapidjson's IsUint64: no fraction, no exponent, not negative).</summary>
    public bool TryGetUInt64(out ulong value)
    {
        value = 0;
        if (Kind != JsonTokenType.Number)
        {
            return false;
        }

        var reader = Reader(_json.Span);
        reader.Read();
        return reader.TryGetUInt64(out value);
    }

    /// <summary>An integer token that fits an int64 (rapidjson's IsInt64).</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        if (Kind != JsonTokenType.Number)
        {
            return false;
        }

        var reader = Reader(_json.Span);
        reader.Read();
        return reader.TryGetInt64(out value);
    }

    public ulong AsUInt() => TryGetUInt64(out ulong v) ? v : throw Internal("attempt to access JSON non-unsigned-integer as unsigned-integer");

    public long AsInt() => TryGetInt64(out long v) ? v : throw Internal("attempt to access JSON non-signed-integer as signed-integer");

    public double AsDouble()
    {
        if (Kind != JsonTokenType.Number)
        {
            throw Internal("attempt to access JSON non-number as double");
        }

        var reader = Reader(_json.Span);
        reader.Read();
        return reader.GetDouble();
    }

    /// <summary>INTERNAL, the code of every error of Triton's JSON layer (HTTP 500).</summary>
    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));

    /// <summary>The error <paramref name="inner"/> with Triton's <c>&lt;what&gt;: </c> prefix and the same code.</summary>
    public static RpcException Prefixed(string what, RpcException inner) =>
        new(new Status(inner.StatusCode, what + ": " + inner.Status.Detail));

    private static RpcException ParseError(string what, long offset) =>
        Internal($"failed to parse the request JSON buffer: {what} at {offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    /// <summary>Strings must be valid UTF-8 (escapes included) so that names, ids and BYTES elements read back as
    /// they were sent.</summary>
    private static bool IsValidString(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8.IsValid(reader.ValueSpan);
        }

        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The reader's own description of a syntax error, without its position suffix.</summary>
    private static string Describe(JsonException e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        }

        return (cut >= 0 ? message[..cut] : message).Trim();
    }

    /// <summary>Byte offset of a (line, byte-in-line) position; lines are counted at '\n' as the reader counts them.</summary>
    private static long Offset(ReadOnlySpan<byte> json, long line, long column)
    {
        long start = 0;
        for (long l = 0; l < line; l++)
        {
            int next = json[(int)start..].IndexOf((byte)'\n');
            if (next < 0)
            {
                break;
            }

            start += next + 1;
        }

        return Math.Min(start + column, json.Length);
    }
}

/// <summary>The members of a JSON object in order, looked up as rapidjson does (the first of duplicate names).</summary>
internal sealed class JsonMembers(List<KeyValuePair<string, JsonView>> members, bool isObject)
{
    public IReadOnlyList<KeyValuePair<string, JsonView>> All => members;

    /// <summary>True when the value these members came from is an object.</summary>
    public bool IsObject => isObject;

    public bool TryGet(string name, out JsonView value)
    {
        foreach (var (key, v) in members)
        {
            if (key == name)
            {
                value = v;
                return true;
            }
        }

        value = default;
        return false;
    }

    public bool Has(string name) => TryGet(name, out _);

    /// <summary>Triton's <c>MemberAsString</c>: the member must exist and be a string.</summary>
    public string String(string name) => Member(name).AsString();

    public ulong UInt(string name) => Member(name).AsUInt();

    /// <summary>Triton's <c>MemberAsArray</c>.</summary>
    public JsonView Array(string name)
    {
        var v = Member(name);
        return v.IsArray ? v : throw JsonView.Internal("attempt to access JSON non-array as array");
    }

    /// <summary>Triton's <c>MemberAsObject</c>.</summary>
    public JsonView Object(string name)
    {
        var v = Member(name);
        return v.IsObject ? v : throw JsonView.Internal("attempt to access JSON non-object as object");
    }

    private JsonView Member(string name) =>
        TryGet(name, out var v) ? v : throw JsonView.Internal($"attempt to access non-existing object member '{Protocol.TritonErrors.Echo(name)}'");
}
