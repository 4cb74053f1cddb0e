using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace DataPlane.Protocol.Json;

/// <summary>Turns JSON into a message's binary encoding, guided by its descriptor; the caller
/// parses the bytes with the message's generated parser.</summary>
/// <remarks>It accepts what protobuf's C++ JSON parser accepts with the options Triton's
/// <c>JsonToModelConfig</c> sets (<c>ignore_unknown_fields = false</c>,
/// <c>case_insensitive_enum_parsing = true</c>; protobuf 22 <c>json/internal/parser.cc</c>,
/// which also enables its legacy syntax):
/// <list type="bullet">
/// <item>field names as in the .proto or in lowerCamelCase; an unknown name is an error;</item>
/// <item>integers as JSON numbers (an exponent or <c>.0</c> is fine if the value is whole and
/// within ±2^53) or as decimal strings, of any integer type; range checked per type;</item>
/// <item>floats as numbers, numeric strings, or "NaN", "Infinity", "-Infinity"; a finite
/// value beyond the float range is an error;</item>
/// <item>bools as true/false or as the strings true/t/yes/y/1 and false/f/no/n/0;</item>
/// <item>enums by name (any letter case) or number, or a number in a string;</item>
/// <item>bytes as base64, standard or URL-safe, padded or not;</item>
/// <item><c>null</c> leaves a field unset; <c>null</c> inside an array adds a default element; a
/// single value stands for a one-element array, and nested arrays are flattened;</item>
/// <item>a field given twice: the last value wins (messages merge, arrays append); two members
/// of one oneof, or a map key given twice, are errors.</item>
/// </list>
/// Nesting is bounded by <see cref="ProtoJson.MaxDepth"/>. Protobuf's lexer also takes some
/// non-JSON text (single quotes, unquoted keys); this reader takes standard JSON only.</remarks>
internal sealed class ProtoJsonReader
{
    private static readonly string[] TrueWords = ["true", "t", "yes", "y", "1"];
    private static readonly string[] FalseWords = ["false", "f", "no", "n", "0"];
    private const double MaxExactDouble = 9007199254740992.0; // 2^53
    private const double MaxUnsignedViaDouble = 18014398509481984.0; // 2^54, protobuf's bound

    private readonly PathTracker _path = new();
    private int _depth;

    /// <summary>Reads one JSON object (the current token, or the next one when the reader has
    /// not started) into the encoding of <paramref name="descriptor"/>.</summary>
    public byte[] ReadRoot(ref Utf8JsonReader reader, MessageDescriptor descriptor)
    {
        if (reader.TokenType == JsonTokenType.None)
        {
            Next(ref reader);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"expected a JSON object for {descriptor.FullName}, got {Describe(reader.TokenType)}");
        }

        return ReadMessage(ref reader, descriptor);
    }

    /// <summary>Reads past the end of the document, failing on anything after the object.</summary>
    public void ReadEnd(ref Utf8JsonReader reader)
    {
        if (Next(ref reader, allowEnd: true))
        {
            throw Error($"unexpected {Describe(reader.TokenType)} after the JSON object");
        }
    }

    private byte[] ReadMessage(ref Utf8JsonReader reader, MessageDescriptor descriptor)
    {
        ProtoJson.EnsureSupported(descriptor);
        Enter();
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true))
        {
            List<(int Oneof, string Field)>? oneofsSet = null;
            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                string name = GetString(ref reader);
                var field = FindField(descriptor, name);
                if (field is null)
                {
                    _path.PushField(name);
                    throw Error($"unknown field \"{name}\": {descriptor.FullName} has no such field");
                }

                _path.PushField(field.Name);
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    if (field.RealContainingOneof is { } oneof)
                    {
                        oneofsSet ??= [];
                        foreach (var (index, other) in oneofsSet)
                        {
                            if (index == oneof.Index)
                            {
                                throw Error($"oneof {oneof.Name} is already set by \"{other}\"; give only one of its fields");
                            }
                        }

                        oneofsSet.Add((oneof.Index, field.Name));
                    }

                    if (field.IsMap)
                    {
                        ReadMap(ref reader, field, output);
                    }
                    else if (field.IsRepeated && reader.TokenType == JsonTokenType.StartArray)
                    {
                        int index = 0;
                        ReadArray(ref reader, field, output, ref index);
                    }
                    else
                    {
                        // A single value for a repeated field is a one-element array.
                        ReadValue(ref reader, field, output);
                    }
                }

                _path.Pop();
            }
        }

        Exit();
        return stream.ToArray();
    }

    private void ReadArray(ref Utf8JsonReader reader, FieldDescriptor field, CodedOutputStream output, ref int index)
    {
        Enter();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                ReadArray(ref reader, field, output, ref index);
                continue;
            }

            _path.PushIndex(index++);
            if (reader.TokenType == JsonTokenType.Null)
            {
                WriteDefault(field, output);
            }
            else
            {
                ReadValue(ref reader, field, output);
            }

            _path.Pop();
        }

        Exit();
    }

    private void ReadMap(ref Utf8JsonReader reader, FieldDescriptor field, CodedOutputStream output)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"expected a JSON object (a map), got {Describe(reader.TokenType)}");
        }

        Enter();
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            string key = GetString(ref reader);
            _path.PushKey(key);
            if (!seen.Add(key))
            {
                throw Error($"map key \"{key}\" appears more than once");
            }

            Next(ref reader);
            using var entry = new MemoryStream();
            using (var entryOutput = new CodedOutputStream(entry, leaveOpen: true))
            {
                WriteMapKey(keyField, key, entryOutput);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    ReadValue(ref reader, valueField, entryOutput);
                }
            }

            output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(UnsafeByteOperations.UnsafeWrap(entry.ToArray()));
            _path.Pop();
        }

        Exit();
    }

    private void WriteMapKey(FieldDescriptor keyField, string key, CodedOutputStream output)
    {
        var type = keyField.FieldType;
        output.WriteTag(1, ProtoJsonWriter.WireTypeOf(type));
        if (type == FieldType.String)
        {
            output.WriteString(key);
            return;
        }

        if (type == FieldType.Bool)
        {
            bool? flag = key switch { "true" => true, "false" => false, _ => null };
            output.WriteBool(flag ?? throw Error($"map key \"{key}\" is not a bool (\"true\" or \"false\")"));
            return;
        }

        if (!IsIntegerSyntax(key))
        {
            throw Error($"map key \"{key}\" is not a decimal {TypeName(type)}");
        }

        if (IsUnsigned(type))
        {
            ulong value = ParseUnsignedText(key, type);
            WriteUnsigned(type, value, output);
        }
        else
        {
            long value = ParseSignedText(key, type);
            WriteSigned(type, value, output);
        }
    }

    /// <summary>Reads the current value of a non-repeated field (or one element of a repeated
    /// one) and writes it with its tag.</summary>
    private void ReadValue(ref Utf8JsonReader reader, FieldDescriptor field, CodedOutputStream output)
    {
        var type = field.FieldType;
        switch (type)
        {
            case FieldType.Message:
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw Error($"expected a JSON object for {field.MessageType.FullName}, got {Describe(reader.TokenType)}");
                }

                byte[] nested = ReadMessage(ref reader, field.MessageType);
                output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(UnsafeByteOperations.UnsafeWrap(nested));
                break;
            case FieldType.Enum:
                int number = ReadEnum(ref reader, field.EnumType);
                output.WriteTag(field.FieldNumber, WireFormat.WireType.Varint);
                output.WriteEnum(number);
                break;
            case FieldType.Bool:
                bool flag = ReadBool(ref reader);
                output.WriteTag(field.FieldNumber, WireFormat.WireType.Varint);
                output.WriteBool(flag);
                break;
            case FieldType.String:
                string text = ExpectString(ref reader, "a string");
                output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
                output.WriteString(text);
                break;
            case FieldType.Bytes:
                byte[] bytes = DecodeBase64(ExpectString(ref reader, "a base64 string"));
                output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(UnsafeByteOperations.UnsafeWrap(bytes));
                break;
            case FieldType.Float:
            case FieldType.Double:
                double real = ReadReal(ref reader, type);
                output.WriteTag(field.FieldNumber, ProtoJsonWriter.WireTypeOf(type));
                if (type == FieldType.Float)
                {
                    output.WriteFloat((float)real);
                }
                else
                {
                    output.WriteDouble(real);
                }

                break;
            case FieldType.UInt32:
            case FieldType.Fixed32:
            case FieldType.UInt64:
            case FieldType.Fixed64:
                ulong unsigned = ReadUnsigned(ref reader, type);
                output.WriteTag(field.FieldNumber, ProtoJsonWriter.WireTypeOf(type));
                WriteUnsigned(type, unsigned, output);
                break;
            case FieldType.Int32:
            case FieldType.SInt32:
            case FieldType.SFixed32:
            case FieldType.Int64:
            case FieldType.SInt64:
            case FieldType.SFixed64:
                long signed = ReadSigned(ref reader, type);
                output.WriteTag(field.FieldNumber, ProtoJsonWriter.WireTypeOf(type));
                WriteSigned(type, signed, output);
                break;
            default:
                throw Error($"unsupported field type {type}");
        }
    }

    /// <summary>Writes the default value of <paramref name="field"/> as one element (a
    /// <c>null</c> inside an array).</summary>
    private static void WriteDefault(FieldDescriptor field, CodedOutputStream output)
    {
        var type = field.FieldType;
        output.WriteTag(field.FieldNumber, ProtoJsonWriter.WireTypeOf(type));
        switch (ProtoJsonWriter.WireTypeOf(type))
        {
            case WireFormat.WireType.Fixed32:
                output.WriteFixed32(0);
                break;
            case WireFormat.WireType.Fixed64:
                output.WriteFixed64(0);
                break;
            case WireFormat.WireType.LengthDelimited:
                output.WriteLength(0);
                break;
            default:
                output.WriteUInt64(0);
                break;
        }
    }

    private static void WriteSigned(FieldType type, long value, CodedOutputStream output)
    {
        switch (type)
        {
            case FieldType.Int32:
                output.WriteInt32((int)value);
                break;
            case FieldType.SInt32:
                output.WriteSInt32((int)value);
                break;
            case FieldType.SFixed32:
                output.WriteSFixed32((int)value);
                break;
            case FieldType.Int64:
                output.WriteInt64(value);
                break;
            case FieldType.SInt64:
                output.WriteSInt64(value);
                break;
            default:
                output.WriteSFixed64(value);
                break;
        }
    }

    private static void WriteUnsigned(FieldType type, ulong value, CodedOutputStream output)
    {
        switch (type)
        {
            case FieldType.UInt32:
                output.WriteUInt32((uint)value);
                break;
            case FieldType.Fixed32:
                output.WriteFixed32((uint)value);
                break;
            case FieldType.UInt64:
                output.WriteUInt64(value);
                break;
            default:
                output.WriteFixed64(value);
                break;
        }
    }

    private long ReadSigned(ref Utf8JsonReader reader, FieldType type)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                string literal = RawNumber(ref reader);
                if (!IsIntegerSyntax(literal))
                {
                    double real = ParseWholeDouble(literal, type, -MaxExactDouble, MaxExactDouble);
                    return CheckRange((long)real, type);
                }

                return ParseSignedText(literal, type);
            case JsonTokenType.String:
                string text = GetString(ref reader);
                if (!IsIntegerSyntax(text))
                {
                    throw Error($"\"{text}\" is not an integer: expected a {TypeName(type)} as a JSON number or a decimal string");
                }

                return ParseSignedText(text, type);
            default:
                throw Error($"expected a {TypeName(type)} (a number or a decimal string), got {Describe(reader.TokenType)}");
        }
    }

    private ulong ReadUnsigned(ref Utf8JsonReader reader, FieldType type)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                string literal = RawNumber(ref reader);
                if (!IsIntegerSyntax(literal))
                {
                    double real = ParseWholeDouble(literal, type, 0, MaxUnsignedViaDouble);
                    return CheckRange((ulong)real, type);
                }

                return ParseUnsignedText(literal, type);
            case JsonTokenType.String:
                string text = GetString(ref reader);
                if (!IsIntegerSyntax(text))
                {
                    throw Error($"\"{text}\" is not an integer: expected a {TypeName(type)} as a JSON number or a decimal string");
                }

                return ParseUnsignedText(text, type);
            default:
                throw Error($"expected a {TypeName(type)} (a number or a decimal string), got {Describe(reader.TokenType)}");
        }
    }

    /// <summary>A number literal with a fraction or exponent: accepted when it is whole and
    /// within [<paramref name="low"/>, <paramref name="high"/>].</summary>
    private double ParseWholeDouble(string literal, FieldType type, double low, double high)
    {
        double value = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(value) || value < low || value > high)
        {
            throw Error($"{literal} is out of range for {TypeName(type)}");
        }

        if (Math.Floor(value) != value)
        {
            throw Error($"{literal} is not an integer: {TypeName(type)} takes whole numbers only");
        }

        return value;
    }

    private long ParseSignedText(string text, FieldType type)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            throw Error($"{text} is out of range for {TypeName(type)}");
        }

        return CheckRange(value, type);
    }

    private ulong ParseUnsignedText(string text, FieldType type)
    {
        if (!ulong.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out ulong value))
        {
            throw Error($"{text} is out of range for {TypeName(type)}");
        }

        return CheckRange(value, type);
    }

    private long CheckRange(long value, FieldType type)
    {
        if (Is32Bit(type) && (value < int.MinValue || value > int.MaxValue))
        {
            throw Error($"{value} is out of range for {TypeName(type)} ({int.MinValue} to {int.MaxValue})");
        }

        return value;
    }

    private ulong CheckRange(ulong value, FieldType type)
    {
        if (Is32Bit(type) && value > uint.MaxValue)
        {
            throw Error($"{value} is out of range for {TypeName(type)} (0 to {uint.MaxValue})");
        }

        return value;
    }

    private double ReadReal(ref Utf8JsonReader reader, FieldType type)
    {
        double value;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                string literal = RawNumber(ref reader);
                value = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
                if (!double.IsFinite(value))
                {
                    throw Error($"{literal} is out of range for {TypeName(type)}");
                }

                break;
            case JsonTokenType.String:
                string text = GetString(ref reader);
                value = text switch
                {
                    "NaN" => double.NaN,
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed)
                        ? parsed
                        : throw Error($"\"{text}\" is not a number"),
                };
                break;
            default:
                throw Error($"expected a {TypeName(type)} (a number, or \"NaN\", \"Infinity\", \"-Infinity\"), got {Describe(reader.TokenType)}");
        }

        if (type == FieldType.Float && double.IsFinite(value) && !float.IsFinite((float)value))
        {
            throw Error($"{value.ToString(CultureInfo.InvariantCulture)} is out of range for float");
        }

        return value;
    }

    private bool ReadBool(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            case JsonTokenType.String:
                string text = GetString(ref reader);
                foreach (string word in TrueWords)
                {
                    if (Ascii.EqualsIgnoreCase(text, word))
                    {
                        return true;
                    }
                }

                foreach (string word in FalseWords)
                {
                    if (Ascii.EqualsIgnoreCase(text, word))
                    {
                        return false;
                    }
                }

                throw Error($"\"{text}\" is not a bool: expected true or false");
            default:
                throw Error($"expected true or false, got {Describe(reader.TokenType)}");
        }
    }

    private int ReadEnum(ref Utf8JsonReader reader, EnumDescriptor type)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return (int)ReadSigned(ref reader, FieldType.Int32);
            case JsonTokenType.String:
                string text = GetString(ref reader);
                foreach (var value in type.Values)
                {
                    if (Ascii.EqualsIgnoreCase(value.Name, text))
                    {
                        return value.Number;
                    }
                }

                if (IsIntegerSyntax(text) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int number))
                {
                    return number;
                }

                throw Error($"unknown enum value \"{text}\" for {type.FullName}");
            default:
                throw Error($"expected an enum name or number for {type.FullName}, got {Describe(reader.TokenType)}");
        }
    }

    private string ExpectString(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw Error($"expected {what}, got {Describe(reader.TokenType)}");
        }

        return GetString(ref reader);
    }

    /// <summary>Base64, standard or URL-safe alphabet, with or without trailing padding.</summary>
    private byte[] DecodeBase64(string text)
    {
        int length = text.Length;
        if (length % 4 == 0 && length > 0 && text[length - 1] == '=')
        {
            length -= text[length - 2] == '=' ? 2 : 1;
        }

        if (length % 4 == 1)
        {
            throw Error("invalid base64: wrong length");
        }

        var output = new byte[length * 3 / 4];
        int bits = 0;
        int count = 0;
        int n = 0;
        for (int i = 0; i < length; i++)
        {
            int sextet = Base64Value(text[i]);
            if (sextet < 0)
            {
                throw Error($"invalid base64: unexpected character '{text[i]}' at {i}");
            }

            bits = (bits << 6) | sextet;
            count += 6;
            if (count >= 8)
            {
                count -= 8;
                output[n++] = (byte)(bits >> count);
                bits &= (1 << count) - 1;
            }
        }

        return output;
    }

    private static int Base64Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' or '-' => 62,
        '/' or '_' => 63,
        _ => -1,
    };

    private static FieldDescriptor? FindField(MessageDescriptor descriptor, string name)
    {
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (field.JsonName == name)
            {
                return field;
            }
        }

        return descriptor.FindFieldByName(name);
    }

    private bool Next(ref Utf8JsonReader reader, bool allowEnd = false)
    {
        bool more;
        try
        {
            more = reader.Read();
        }
        catch (JsonException e)
        {
            throw Error($"malformed JSON: {e.Message}", e);
        }

        if (!more && !allowEnd)
        {
            throw Error("malformed JSON: the document ends early");
        }

        return more;
    }

    private string GetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException e)
        {
            throw Error($"malformed JSON string: {e.Message}", e);
        }
    }

    private static string RawNumber(ref Utf8JsonReader reader) =>
        Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);

    private void Enter()
    {
        if (++_depth > ProtoJson.MaxDepth)
        {
            throw Error($"JSON nested more than {ProtoJson.MaxDepth} levels deep");
        }
    }

    private void Exit() => _depth--;

    private static bool IsIntegerSyntax(string text)
    {
        int start = text.Length > 0 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        if (start == text.Length)
        {
            return false;
        }

        for (int i = start; i < text.Length; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Is32Bit(FieldType type) =>
        type is FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.UInt32 or FieldType.Fixed32;

    private static bool IsUnsigned(FieldType type) =>
        type is FieldType.UInt32 or FieldType.Fixed32 or FieldType.UInt64 or FieldType.Fixed64;

    private static string TypeName(FieldType type) => type switch
    {
        FieldType.Int32 => "int32",
        FieldType.SInt32 => "sint32",
        FieldType.SFixed32 => "sfixed32",
        FieldType.UInt32 => "uint32",
        FieldType.Fixed32 => "fixed32",
        FieldType.Int64 => "int64",
        FieldType.SInt64 => "sint64",
        FieldType.SFixed64 => "sfixed64",
        FieldType.UInt64 => "uint64",
        FieldType.Fixed64 => "fixed64",
        FieldType.Float => "float",
        FieldType.Double => "double",
        _ => type.ToString(),
    };

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.PropertyName => "a property name",
        _ => token.ToString(),
    };

    private ProtoJsonException Error(string problem, Exception? inner = null) => new(_path.ToString(), problem, inner);
}
