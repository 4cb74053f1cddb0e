using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DataPlane.Protocol.Inference;
using Google.Protobuf;

namespace DataPlane.Protocol.Tensors;

/// <summary>Typed tensor contents (<see cref="InferTensorContents"/>): validation and conversion
/// to and from the raw little-endian encoding. Typed contents are the slow path of the protocol;
/// the batcher converts them to raw once and back once.</summary>
public static class TypedContents
{
    private static readonly string[] s_fieldNames =
    [
        "bool_contents", "int_contents", "int64_contents", "uint_contents",
        "uint64_contents", "fp32_contents", "fp64_contents", "bytes_contents",
    ];

    /// <summary>Index into <see cref="s_fieldNames"/> of the field that carries a datatype, or -1.</summary>
    private static int FieldFor(TensorDataType type) => type switch
    {
        TensorDataType.Bool => 0,
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => 1,
        TensorDataType.Int64 => 2,
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => 3,
        TensorDataType.UInt64 => 4,
        TensorDataType.Fp32 => 5,
        TensorDataType.Fp64 => 6,
        TensorDataType.Bytes => 7,
        _ => -1,
    };

    private static int FieldCount(InferTensorContents c, int field) => field switch
    {
        0 => c.BoolContents.Count,
        1 => c.IntContents.Count,
        2 => c.Int64Contents.Count,
        3 => c.UintContents.Count,
        4 => c.Uint64Contents.Count,
        5 => c.Fp32Contents.Count,
        6 => c.Fp64Contents.Count,
        _ => c.BytesContents.Count,
    };

    /// <summary>Name of the typed field that carries <paramref name="type"/>, for messages.</summary>
    public static string FieldName(TensorDataType type)
    {
        int f = FieldFor(type);
        return f < 0 ? "(none: raw contents only)" : s_fieldNames[f];
    }

    /// <summary>Validates typed contents for a tensor of <paramref name="elementCount"/> elements.
    /// Returns null when valid, otherwise a message naming <paramref name="what"/> and the numbers.</summary>
    /// <typeparam name="TLabel">A string, or a value that formats the name only when a message is written.</typeparam>
    public static string? Validate<TLabel>(TLabel what, TensorDataType type, InferTensorContents contents, long elementCount, long maxElementLength)
    {
        int field = FieldFor(type);
        if (field < 0)
        {
            return $"{what}: datatype {type.WireName()} has no typed contents field; send it in raw_input_contents";
        }

        for (int f = 0; f < s_fieldNames.Length; f++)
        {
            int n = FieldCount(contents, f);
            if (f != field && n != 0)
            {
                return $"{what}: datatype {type.WireName()} belongs in {s_fieldNames[field]}, but {s_fieldNames[f]} has {n} values";
            }
        }

        int count = FieldCount(contents, field);
        if (count != elementCount)
        {
            return $"{what}: {s_fieldNames[field]} has {count} values but the shape needs {elementCount}";
        }

        switch (type)
        {
            case TensorDataType.Int8:
                return CheckRange(what, contents.IntContents, sbyte.MinValue, sbyte.MaxValue, type);
            case TensorDataType.Int16:
                return CheckRange(what, contents.IntContents, short.MinValue, short.MaxValue, type);
            case TensorDataType.UInt8:
                return CheckRange(what, contents.UintContents, byte.MaxValue, type);
            case TensorDataType.UInt16:
                return CheckRange(what, contents.UintContents, ushort.MaxValue, type);
            case TensorDataType.Bytes:
                for (int i = 0; i < contents.BytesContents.Count; i++)
                {
                    if (contents.BytesContents[i].Length > maxElementLength)
                    {
                        return $"{what}: BYTES element {i} has length {contents.BytesContents[i].Length}, more than the limit of {maxElementLength}";
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static string? CheckRange<TLabel>(TLabel what, IList<int> values, int min, int max, TensorDataType type)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] < min || values[i] > max)
            {
                return $"{what}: value {values[i]} at index {i} is outside the range of {type.WireName()} ({min}..{max})";
            }
        }

        return null;
    }

    private static string? CheckRange<TLabel>(TLabel what, IList<uint> values, uint max, TensorDataType type)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] > max)
            {
                return $"{what}: value {values[i]} at index {i} is outside the range of {type.WireName()} (0..{max})";
            }
        }

        return null;
    }

    /// <summary>Encodes validated typed contents as raw little-endian bytes.</summary>
    public static byte[] ToRaw(TensorDataType type, InferTensorContents c)
    {
        switch (type)
        {
            case TensorDataType.Bool:
            {
                var b = new byte[c.BoolContents.Count];
                for (int i = 0; i < b.Length; i++)
                {
                    b[i] = c.BoolContents[i] ? (byte)1 : (byte)0;
                }

                return b;
            }

            case TensorDataType.Int8:
                return Narrow(c.IntContents, 1, static (s, v) => s[0] = (byte)(sbyte)v);
            case TensorDataType.Int16:
                return Narrow(c.IntContents, 2, static (s, v) => BinaryPrimitives.WriteInt16LittleEndian(s, (short)v));
            case TensorDataType.Int32:
                return Narrow(c.IntContents, 4, static (s, v) => BinaryPrimitives.WriteInt32LittleEndian(s, v));
            case TensorDataType.UInt8:
                return Narrow(c.UintContents, 1, static (s, v) => s[0] = (byte)v);
            case TensorDataType.UInt16:
                return Narrow(c.UintContents, 2, static (s, v) => BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)v));
            case TensorDataType.UInt32:
                return Narrow(c.UintContents, 4, static (s, v) => BinaryPrimitives.WriteUInt32LittleEndian(s, v));
            case TensorDataType.Int64:
                return Narrow(c.Int64Contents, 8, static (s, v) => BinaryPrimitives.WriteInt64LittleEndian(s, v));
            case TensorDataType.UInt64:
                return Narrow(c.Uint64Contents, 8, static (s, v) => BinaryPrimitives.WriteUInt64LittleEndian(s, v));
            case TensorDataType.Fp32:
                return Narrow(c.Fp32Contents, 4, static (s, v) => BinaryPrimitives.WriteSingleLittleEndian(s, v));
            case TensorDataType.Fp64:
                return Narrow(c.Fp64Contents, 8, static (s, v) => BinaryPrimitives.WriteDoubleLittleEndian(s, v));
            case TensorDataType.Bytes:
                return BytesTensor.Encode(c.BytesContents);
            default:
                throw new ArgumentException($"datatype {type.WireName()} has no typed contents", nameof(type));
        }
    }

    private delegate void Writer<T>(Span<byte> destination, T value);

    private static byte[] Narrow<T>(IList<T> values, int size, Writer<T> write)
    {
        var b = new byte[values.Count * size];
        for (int i = 0; i < values.Count; i++)
        {
            write(b.AsSpan(i * size, size), values[i]);
        }

        return b;
    }

    /// <summary>Decodes validated raw bytes into typed contents. The datatype must have a typed field.</summary>
    public static InferTensorContents FromRaw(TensorDataType type, ReadOnlySpan<byte> raw)
    {
        var c = new InferTensorContents();
        switch (type)
        {
            case TensorDataType.Bool:
                foreach (byte b in raw)
                {
                    c.BoolContents.Add(b != 0);
                }

                break;
            case TensorDataType.Int8:
                foreach (byte b in raw)
                {
                    c.IntContents.Add((sbyte)b);
                }

                break;
            case TensorDataType.Int16:
                foreach (short v in MemoryMarshal.Cast<byte, short>(raw))
                {
                    c.IntContents.Add(v);
                }

                break;
            case TensorDataType.Int32:
                c.IntContents.AddRange(MemoryMarshal.Cast<byte, int>(raw).ToArray());
                break;
            case TensorDataType.Int64:
                c.Int64Contents.AddRange(MemoryMarshal.Cast<byte, long>(raw).ToArray());
                break;
            case TensorDataType.UInt8:
                foreach (byte b in raw)
                {
                    c.UintContents.Add(b);
                }

                break;
            case TensorDataType.UInt16:
                foreach (ushort v in MemoryMarshal.Cast<byte, ushort>(raw))
                {
                    c.UintContents.Add(v);
                }

                break;
            case TensorDataType.UInt32:
                c.UintContents.AddRange(MemoryMarshal.Cast<byte, uint>(raw).ToArray());
                break;
            case TensorDataType.UInt64:
                c.Uint64Contents.AddRange(MemoryMarshal.Cast<byte, ulong>(raw).ToArray());
                break;
            case TensorDataType.Fp32:
                c.Fp32Contents.AddRange(MemoryMarshal.Cast<byte, float>(raw).ToArray());
                break;
            case TensorDataType.Fp64:
                c.Fp64Contents.AddRange(MemoryMarshal.Cast<byte, double>(raw).ToArray());
                break;
            case TensorDataType.Bytes:
                c.BytesContents.AddRange(BytesTensor.Decode(raw));
                break;
            default:
                throw new ArgumentException($"datatype {type.WireName()} has no typed contents", nameof(type));
        }

        return c;
    }

    /// <summary>True when any typed field holds values.</summary>
    public static bool HasAnyValues(InferTensorContents c)
    {
        for (int f = 0; f < s_fieldNames.Length; f++)
        {
            if (FieldCount(c, f) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Wraps raw bytes without copying; the caller keeps the memory alive and unchanged.</summary>
    public static ByteString Wrap(ReadOnlyMemory<byte> memory) => UnsafeByteOperations.UnsafeWrap(memory);
}
