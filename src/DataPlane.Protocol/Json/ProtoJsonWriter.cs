using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace DataPlane.Protocol.Json;

/// <summary>Prints a message from its binary encoding, guided by its descriptor: the wire data
/// of each message is grouped by field number, then every field is printed in field-number
/// order. Nothing is read through generated accessors or reflection.</summary>
/// <remarks>The rules are those of protobuf's C++ JSON printer (<c>json/internal/unparser.cc</c>,
/// protobuf 22, which Triton links through gRPC 1.54.3) with <c>preserve_proto_field_names</c>
/// and <c>always_print_primitive_fields</c>, the options Triton's <c>ModelConfigToJson</c> sets:
/// <list type="bullet">
/// <item>keys are proto field names; fields appear sorted by field number (the printer sorts
/// them: "Fields are guaranteed to be serialized in field number order"), not in declaration
/// order;</item>
/// <item>with the option, a field is printed when it is set, or when it is repeated or a map
/// (printed as <c>[]</c> / <c>{}</c> when empty), or when it is a singular field that is neither
/// a message nor in a oneof (printed with its default value); unset message fields, unset oneof
/// members and unset proto3 <c>optional</c> fields are left out (protobuf 26+ names the option
/// <c>always_print_fields_with_no_presence</c>: "implicit presence fields set to their 0 value;
/// empty lists and maps");</item>
/// <item>enums print by name, or as a number when the value has no name; bytes as standard
/// base64 with padding; map keys as strings; NaN and infinities as the strings "NaN",
/// "Infinity", "-Infinity"; unknown fields are dropped;</item>
/// <item>64-bit integers are JSON numbers, as Triton turns protobuf's quoted form back into
/// numbers (except where the caller asks for the quoted form; see
/// <see cref="TritonModelConfigJson"/>); strings and floats are written as Triton's final text
/// (<see cref="JsonText"/>).</item>
/// </list></remarks>
internal sealed class ProtoJsonWriter
{
    private readonly Utf8JsonWriter _json;
    private readonly IReadOnlySet<string>? _quotedInt64Fields;
    private readonly ArrayBufferWriter<byte> _scratch = new();

    public ProtoJsonWriter(Utf8JsonWriter json, IReadOnlySet<string>? quotedInt64Fields)
    {
        _json = json;
        _quotedInt64Fields = quotedInt64Fields;
    }

    public void WriteMessage(MessageDescriptor descriptor, ReadOnlySpan<byte> wire, int depth)
    {
        if (depth > ProtoJson.MaxDepth)
        {
            throw new ProtoJsonException($"{descriptor.FullName}: messages nested more than {ProtoJson.MaxDepth} deep");
        }

        ProtoJson.EnsureSupported(descriptor);
        var occurrences = Collect(descriptor, wire);
        var all = CollectionsMarshal.AsSpan(occurrences);
        _json.WriteStartObject();
        int next = 0;
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            int first = next;
            while (next < all.Length && all[next].Number == field.FieldNumber)
            {
                next++;
            }

            WriteField(field, wire, all[first..next], depth);
        }

        _json.WriteEndObject();
    }

    private void WriteField(FieldDescriptor field, ReadOnlySpan<byte> wire, ReadOnlySpan<Occurrence> occurrences, int depth)
    {
        if (field.IsMap)
        {
            _json.WritePropertyName(field.Name);
            WriteMap(field, wire, occurrences, depth);
        }
        else if (field.IsRepeated)
        {
            _json.WritePropertyName(field.Name);
            _json.WriteStartArray();
            foreach (var occurrence in occurrences)
            {
                if (occurrence.WireType == WireFormat.WireType.LengthDelimited && IsPackable(field.FieldType))
                {
                    WritePacked(field, wire.Slice(occurrence.Offset, occurrence.Length));
                }
                else
                {
                    WriteValue(field, wire, occurrence, depth);
                }
            }

            _json.WriteEndArray();
        }
        else if (occurrences.Length > 0)
        {
            _json.WritePropertyName(field.Name);
            if (field.FieldType == FieldType.Message && occurrences.Length > 1)
            {
                // A message that occurs more than once is the merge of all occurrences, which is
                // what their concatenation parses to.
                WriteMessage(field.MessageType, Concatenate(wire, occurrences), depth + 1);
            }
            else
            {
                WriteValue(field, wire, occurrences[^1], depth);
            }
        }
        else if (!field.HasPresence)
        {
            _json.WritePropertyName(field.Name);
            WriteScalar(field, 0, []);
        }
    }

    private void WriteMap(FieldDescriptor field, ReadOnlySpan<byte> wire, ReadOnlySpan<Occurrence> occurrences, int depth)
    {
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);

        // A key seen twice keeps its first position and its last value, as a map parse does.
        var entries = new List<(string Key, Occurrence Entry)>(occurrences.Length);
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var occurrence in occurrences)
        {
            var entryWire = wire.Slice(occurrence.Offset, occurrence.Length);
            var parts = CollectionsMarshal.AsSpan(Collect(field.MessageType, entryWire));
            string key = MapKey(keyField, entryWire, Last(parts, 1));
            if (positions.TryGetValue(key, out int at))
            {
                entries[at] = (key, occurrence);
            }
            else
            {
                positions.Add(key, entries.Count);
                entries.Add((key, occurrence));
            }
        }

        _json.WriteStartObject();
        foreach (var (key, entry) in entries)
        {
            _json.WritePropertyName(key);
            var entryWire = wire.Slice(entry.Offset, entry.Length);
            var parts = CollectionsMarshal.AsSpan(Collect(field.MessageType, entryWire));
            int first = parts.Length;
            for (int i = 0; i < parts.Length; i++)
            {
                if (parts[i].Number == 2)
                {
                    first = i;
                    break;
                }
            }

            var values = parts[first..];
            if (values.Length == 0)
            {
                if (valueField.FieldType == FieldType.Message)
                {
                    WriteMessage(valueField.MessageType, [], depth + 1);
                }
                else
                {
                    WriteScalar(valueField, 0, []);
                }
            }
            else if (valueField.FieldType == FieldType.Message && values.Length > 1)
            {
                WriteMessage(valueField.MessageType, Concatenate(entryWire, values), depth + 1);
            }
            else
            {
                WriteValue(valueField, entryWire, values[^1], depth);
            }
        }

        _json.WriteEndObject();
    }

    private static string MapKey(FieldDescriptor keyField, ReadOnlySpan<byte> entryWire, Occurrence? key)
    {
        ulong raw = key?.Scalar ?? 0;
        return keyField.FieldType switch
        {
            FieldType.String => key is { } k ? Encoding.UTF8.GetString(entryWire.Slice(k.Offset, k.Length)) : string.Empty,
            FieldType.Bool => raw != 0 ? "true" : "false",
            FieldType.Int32 or FieldType.SFixed32 => ((int)raw).ToString(CultureInfo.InvariantCulture),
            FieldType.SInt32 => DecodeZigZag32(raw).ToString(CultureInfo.InvariantCulture),
            FieldType.UInt32 or FieldType.Fixed32 => ((uint)raw).ToString(CultureInfo.InvariantCulture),
            FieldType.Int64 or FieldType.SFixed64 => ((long)raw).ToString(CultureInfo.InvariantCulture),
            FieldType.SInt64 => DecodeZigZag64(raw).ToString(CultureInfo.InvariantCulture),
            FieldType.UInt64 or FieldType.Fixed64 => raw.ToString(CultureInfo.InvariantCulture),
            _ => throw new ProtoJsonException($"{keyField.FullName}: unsupported map key type {keyField.FieldType}"),
        };
    }

    private void WriteValue(FieldDescriptor field, ReadOnlySpan<byte> wire, Occurrence occurrence, int depth)
    {
        if (field.FieldType == FieldType.Message)
        {
            WriteMessage(field.MessageType, wire.Slice(occurrence.Offset, occurrence.Length), depth + 1);
        }
        else
        {
            WriteScalar(field, occurrence.Scalar, wire.Slice(occurrence.Offset, occurrence.Length));
        }
    }

    private void WritePacked(FieldDescriptor field, ReadOnlySpan<byte> packed)
    {
        var reader = new WireReader(packed);
        var wireType = WireTypeOf(field.FieldType);
        while (!reader.End)
        {
            ulong raw = wireType switch
            {
                WireFormat.WireType.Fixed32 => reader.ReadFixed32(),
                WireFormat.WireType.Fixed64 => reader.ReadFixed64(),
                _ => reader.ReadVarint(),
            };
            WriteScalar(field, raw, []);
        }
    }

    /// <summary>Writes a non-message value: <paramref name="raw"/> holds varint and fixed-width
    /// values, <paramref name="payload"/> strings and bytes. Zero and empty give the default.</summary>
    private void WriteScalar(FieldDescriptor field, ulong raw, ReadOnlySpan<byte> payload)
    {
        switch (field.FieldType)
        {
            case FieldType.Bool:
                _json.WriteBooleanValue(raw != 0);
                break;
            case FieldType.Int32:
            case FieldType.SFixed32:
                _json.WriteNumberValue((int)raw);
                break;
            case FieldType.SInt32:
                _json.WriteNumberValue(DecodeZigZag32(raw));
                break;
            case FieldType.UInt32:
            case FieldType.Fixed32:
                _json.WriteNumberValue((uint)raw);
                break;
            case FieldType.Int64:
            case FieldType.SFixed64:
                WriteInt64(field, (long)raw);
                break;
            case FieldType.SInt64:
                WriteInt64(field, DecodeZigZag64(raw));
                break;
            case FieldType.UInt64:
            case FieldType.Fixed64:
                if (_quotedInt64Fields?.Contains(field.FullName) == true)
                {
                    WriteQuoted(raw.ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    _json.WriteNumberValue(raw);
                }

                break;
            case FieldType.Float:
                WriteFloating(BitConverter.Int32BitsToSingle((int)(uint)raw), isFloat: true);
                break;
            case FieldType.Double:
                WriteFloating(BitConverter.Int64BitsToDouble((long)raw), isFloat: false);
                break;
            case FieldType.Enum:
                var value = field.EnumType.FindValueByNumber((int)raw);
                if (value is null)
                {
                    _json.WriteNumberValue((int)raw);
                }
                else
                {
                    WriteQuoted(value.Name);
                }

                break;
            case FieldType.String:
                _scratch.Clear();
                JsonText.AppendQuoted(_scratch, payload);
                _json.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
                break;
            case FieldType.Bytes:
                WriteQuoted(Convert.ToBase64String(payload));
                break;
            default:
                throw new ProtoJsonException($"{field.FullName}: unsupported field type {field.FieldType}");
        }
    }

    private void WriteInt64(FieldDescriptor field, long value)
    {
        if (_quotedInt64Fields?.Contains(field.FullName) == true)
        {
            WriteQuoted(value.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            _json.WriteNumberValue(value);
        }
    }

    private void WriteFloating(double value, bool isFloat)
    {
        if (double.IsNaN(value))
        {
            WriteQuoted("NaN");
        }
        else if (double.IsPositiveInfinity(value))
        {
            WriteQuoted("Infinity");
        }
        else if (double.IsNegativeInfinity(value))
        {
            WriteQuoted("-Infinity");
        }
        else
        {
            string text = isFloat ? JsonText.Float((float)value) : JsonText.Double(value);
            _json.WriteRawValue(Encoding.ASCII.GetBytes(text), skipInputValidation: true);
        }
    }

    /// <summary>Writes a string value with Triton's escaping, whatever encoder the caller's
    /// writer uses.</summary>
    private void WriteQuoted(string text)
    {
        _scratch.Clear();
        JsonText.AppendQuoted(_scratch, text);
        _json.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
    }

    /// <summary>Reads every field of one message, in wire order, then sorts them by field
    /// number (stable: repeated values keep their order). Unknown fields and values whose wire
    /// type does not fit the field are skipped, as protobuf's parser keeps them as unknown.</summary>
    private static List<Occurrence> Collect(MessageDescriptor descriptor, ReadOnlySpan<byte> wire)
    {
        var list = new List<Occurrence>();
        var reader = new WireReader(wire);
        while (!reader.End)
        {
            var (number, wireType) = reader.ReadTag();
            var field = descriptor.FindFieldByNumber(number);
            if (field is null || !Fits(field, wireType))
            {
                reader.Skip(wireType, number);
                continue;
            }

            ulong scalar = 0;
            int offset = 0;
            int length = 0;
            switch (wireType)
            {
                case WireFormat.WireType.Varint:
                    scalar = reader.ReadVarint();
                    break;
                case WireFormat.WireType.Fixed32:
                    scalar = reader.ReadFixed32();
                    break;
                case WireFormat.WireType.Fixed64:
                    scalar = reader.ReadFixed64();
                    break;
                default:
                    (offset, length) = reader.ReadLengthDelimited();
                    break;
            }

            list.Add(new Occurrence(number, list.Count, wireType, scalar, offset, length));
        }

        list.Sort(static (a, b) => a.Number != b.Number ? a.Number.CompareTo(b.Number) : a.Sequence.CompareTo(b.Sequence));
        return list;
    }

    private static Occurrence? Last(ReadOnlySpan<Occurrence> sorted, int number)
    {
        Occurrence? found = null;
        foreach (var occurrence in sorted)
        {
            if (occurrence.Number == number)
            {
                found = occurrence;
            }
        }

        return found;
    }

    private static byte[] Concatenate(ReadOnlySpan<byte> wire, ReadOnlySpan<Occurrence> occurrences)
    {
        var merged = new ArrayBufferWriter<byte>();
        foreach (var occurrence in occurrences)
        {
            merged.Write(wire.Slice(occurrence.Offset, occurrence.Length));
        }

        return merged.WrittenSpan.ToArray();
    }

    private static bool Fits(FieldDescriptor field, WireFormat.WireType wireType)
    {
        if (field.FieldType == FieldType.Group)
        {
            return false;
        }

        var expected = WireTypeOf(field.FieldType);
        return wireType == expected ||
            (field.IsRepeated && wireType == WireFormat.WireType.LengthDelimited && IsPackable(field.FieldType));
    }

    internal static WireFormat.WireType WireTypeOf(FieldType type) => type switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => WireFormat.WireType.Fixed64,
        FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => WireFormat.WireType.Fixed32,
        FieldType.String or FieldType.Bytes or FieldType.Message => WireFormat.WireType.LengthDelimited,
        FieldType.Group => WireFormat.WireType.StartGroup,
        _ => WireFormat.WireType.Varint,
    };

    private static bool IsPackable(FieldType type) =>
        type is not (FieldType.String or FieldType.Bytes or FieldType.Message or FieldType.Group);

    private static int DecodeZigZag32(ulong raw) => (int)((uint)raw >> 1) ^ -(int)((uint)raw & 1);

    private static long DecodeZigZag64(ulong raw) => (long)(raw >> 1) ^ -(long)(raw & 1);

    /// <summary>One field value on the wire: its number, its position in the message (to keep
    /// repeated values in order), and either the scalar or where its payload lies.</summary>
    private readonly record struct Occurrence(int Number, int Sequence, WireFormat.WireType WireType, ulong Scalar, int Offset, int Length);
}
