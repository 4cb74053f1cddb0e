using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace DataPlane.Protocol.Json;

/// <summary>Protobuf messages as JSON the way Triton prints and reads its model configuration,
/// for any generated message, without reflection: writing walks the message's binary encoding
/// guided by its descriptor; reading turns JSON into the binary encoding and parses that with
/// the generated parser. Safe for trimming and NativeAOT.</summary>
/// <remarks>Writing follows protobuf's JSON printer with proto field names and every field
/// without presence printed (see <see cref="ProtoJsonWriter"/> for the rules and their source);
/// reading accepts what protobuf's parser accepts for a Triton <c>config</c> override (see
/// <see cref="ProtoJsonReader"/>). Well-known types with a special JSON form (Any, Timestamp,
/// Duration, FieldMask, Struct, Value, ListValue, wrappers) are not supported and throw
/// <see cref="NotSupportedException"/>; DataPlane's protocol uses none of them.</remarks>
public static class ProtoJson
{
    /// <summary>The deepest nesting accepted: JSON objects and arrays when reading, messages when
    /// writing. Protobuf's JSON parser allows the same 100 levels.</summary>
    public const int MaxDepth = 100;

    private static readonly JsonWriterOptions CompactOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static readonly JsonWriterOptions IndentedOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = true,
    };

    /// <summary>The JSON text of <paramref name="message"/>, UTF-8, compact unless
    /// <paramref name="indented"/>.</summary>
    public static byte[] Write(IMessage message, bool indented = false) => Write(message, indented, null);

    /// <summary>Writes <paramref name="message"/> as a JSON object at the writer's current
    /// position (a value in an array or after a property name, or the whole document), so it can
    /// be embedded in a larger document.</summary>
    public static void Write(Utf8JsonWriter writer, IMessage message) => Write(writer, message, null);

    /// <summary>Reads a JSON document holding one object into a <typeparamref name="T"/>.</summary>
    /// <exception cref="ProtoJsonException">The text is not JSON, or does not fit the message;
    /// the exception names the path of the offending value.</exception>
    public static T Read<T>(ReadOnlySpan<byte> utf8Json, MessageParser<T> parser)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        var descriptor = DescriptorOf(parser);
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions
        {
            // One more than ours so that our own check, which names the path, fires first.
            MaxDepth = MaxDepth + 1,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        var json = new ProtoJsonReader();
        byte[] wire = json.ReadRoot(ref reader, descriptor);
        json.ReadEnd(ref reader);
        return parser.ParseFrom(wire);
    }

    /// <summary>Reads a JSON text holding one object into a <typeparamref name="T"/>.</summary>
    /// <exception cref="ProtoJsonException">As <see cref="Read{T}(ReadOnlySpan{byte}, MessageParser{T})"/>.</exception>
    public static T Read<T>(string json, MessageParser<T> parser)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(json);
        return Read(System.Text.Encoding.UTF8.GetBytes(json), parser);
    }

    /// <summary>Reads the JSON object at the reader's current token (or its next token when it has
    /// not started) into a <typeparamref name="T"/>, leaving the reader on the object's end, so a
    /// message can be read out of a larger document. The reader must hold the whole object.</summary>
    /// <exception cref="ProtoJsonException">As <see cref="Read{T}(ReadOnlySpan{byte}, MessageParser{T})"/>;
    /// the path is relative to the object.</exception>
    public static T Read<T>(ref Utf8JsonReader reader, MessageParser<T> parser)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        byte[] wire = new ProtoJsonReader().ReadRoot(ref reader, DescriptorOf(parser));
        return parser.ParseFrom(wire);
    }

    internal static byte[] Write(IMessage message, bool indented, IReadOnlySet<string>? quotedInt64Fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, indented ? IndentedOptions : CompactOptions))
        {
            Write(writer, message, quotedInt64Fields);
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static void Write(Utf8JsonWriter writer, IMessage message, IReadOnlySet<string>? quotedInt64Fields)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        byte[] wire = message.ToByteArray();
        if (!writer.Options.Indented)
        {
            new ProtoJsonWriter(writer, quotedInt64Fields).WriteMessage(message.Descriptor, wire, 1);
            return;
        }

        // Raw values (our exact number and string text) carry no indentation; for indented
        // output the compact text is re-read and written again, which keeps every number's text.
        var compact = new ArrayBufferWriter<byte>();
        using (var compactWriter = new Utf8JsonWriter(compact, CompactOptions))
        {
            new ProtoJsonWriter(compactWriter, quotedInt64Fields).WriteMessage(message.Descriptor, wire, 1);
        }

        using var document = JsonDocument.Parse(compact.WrittenMemory, new JsonDocumentOptions { MaxDepth = (2 * MaxDepth) + 2 });
        document.WriteTo(writer);
    }

    /// <summary>Throws for the well-known types whose JSON form is not an object of their
    /// fields.</summary>
    internal static void EnsureSupported(MessageDescriptor descriptor)
    {
        switch (descriptor.FullName)
        {
            case "google.protobuf.Any":
            case "google.protobuf.Timestamp":
            case "google.protobuf.Duration":
            case "google.protobuf.FieldMask":
            case "google.protobuf.Struct":
            case "google.protobuf.Value":
            case "google.protobuf.ListValue":
            case "google.protobuf.DoubleValue":
            case "google.protobuf.FloatValue":
            case "google.protobuf.Int64Value":
            case "google.protobuf.UInt64Value":
            case "google.protobuf.Int32Value":
            case "google.protobuf.UInt32Value":
            case "google.protobuf.BoolValue":
            case "google.protobuf.StringValue":
            case "google.protobuf.BytesValue":
                throw new NotSupportedException($"{descriptor.FullName} has a special JSON form that ProtoJson does not implement");
        }
    }

    /// <summary>The descriptor of the parser's message type, from an empty instance (no
    /// reflection).</summary>
    private static MessageDescriptor DescriptorOf<T>(MessageParser<T> parser)
        where T : IMessage<T> =>
        parser.ParseFrom(ReadOnlySpan<byte>.Empty).Descriptor;
}
