using System.Buffers.Binary;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Simulation;

/// <summary>The deterministic computation of every simulated tensor model: output <c>k</c> is
/// <see cref="Apply(TensorDataType, ReadOnlySpan{byte})"/> of input <c>k</c>, element by element, with the same datatype and shape.
/// It is a pure function of the datatype and the raw bytes, so a test can check any slice of any
/// batch without knowing how the batch was assembled. Per element:
/// <list type="bullet">
/// <item>integers of every width and sign: <c>x + 1</c>, wrapping (255 → 0, 127 → -128);</item>
/// <item>FP32 and FP64: <c>x × 2 + 1</c> in the element's precision;</item>
/// <item>FP16 and BF16: the sign bit flipped (<c>x ^ 0x8000</c> on the 16-bit value), i.e. negation;</item>
/// <item>BOOL: logical not;</item>
/// <item>BYTES: each element's bytes in reverse order; the length prefixes are kept.</item>
/// </list></summary>
public static class SimulatedTransform
{
    /// <summary>Applies the transform to <paramref name="raw"/>, the protocol's raw little-endian
    /// encoding of a tensor of <paramref name="type"/>, and returns a new buffer of the same length.
    /// <paramref name="raw"/> is not modified.</summary>
    /// <exception cref="ArgumentException">The length is not a whole number of elements, a BYTES
    /// buffer is malformed, or the datatype is invalid.</exception>
    public static byte[] Apply(TensorDataType type, ReadOnlySpan<byte> raw)
    {
        var output = new byte[raw.Length];
        Apply(type, raw, output);
        return output;
    }

    /// <summary>Applies the transform from <paramref name="raw"/> into <paramref name="destination"/>,
    /// which must be at least as long.</summary>
    /// <exception cref="ArgumentException">As for <see cref="Apply(TensorDataType, ReadOnlySpan{byte})"/>,
    /// or the destination is too short.</exception>
    public static void Apply(TensorDataType type, ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        if (destination.Length < raw.Length)
        {
            throw new ArgumentException($"destination has {destination.Length} bytes, fewer than the {raw.Length} of the input", nameof(destination));
        }

        int size = type == TensorDataType.Invalid || !Enum.IsDefined(type)
            ? throw new ArgumentException($"datatype {(int)type} is not valid", nameof(type))
            : type.ElementSize();
        if (size > 0 && raw.Length % size != 0)
        {
            throw new ArgumentException($"{raw.Length} bytes is not a whole number of {type.WireName()} elements of {size} bytes", nameof(raw));
        }

        switch (type)
        {
            case TensorDataType.Bool:
                for (int i = 0; i < raw.Length; i++)
                {
                    destination[i] = raw[i] == 0 ? (byte)1 : (byte)0;
                }

                break;
            case TensorDataType.UInt8:
            case TensorDataType.Int8:
                for (int i = 0; i < raw.Length; i++)
                {
                    destination[i] = unchecked((byte)(raw[i] + 1));
                }

                break;
            case TensorDataType.UInt16:
            case TensorDataType.Int16:
                for (int i = 0; i < raw.Length; i += 2)
                {
                    ushort v = BinaryPrimitives.ReadUInt16LittleEndian(raw[i..]);
                    BinaryPrimitives.WriteUInt16LittleEndian(destination[i..], unchecked((ushort)(v + 1)));
                }

                break;
            case TensorDataType.UInt32:
            case TensorDataType.Int32:
                for (int i = 0; i < raw.Length; i += 4)
                {
                    uint v = BinaryPrimitives.ReadUInt32LittleEndian(raw[i..]);
                    BinaryPrimitives.WriteUInt32LittleEndian(destination[i..], unchecked(v + 1));
                }

                break;
            case TensorDataType.UInt64:
            case TensorDataType.Int64:
                for (int i = 0; i < raw.Length; i += 8)
                {
                    ulong v = BinaryPrimitives.ReadUInt64LittleEndian(raw[i..]);
                    BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], unchecked(v + 1));
                }

                break;
            case TensorDataType.Fp16:
            case TensorDataType.Bf16:
                for (int i = 0; i < raw.Length; i += 2)
                {
                    // Little-endian: the sign bit is the top bit of the second byte.
                    destination[i] = raw[i];
                    destination[i + 1] = (byte)(raw[i + 1] ^ 0x80);
                }

                break;
            case TensorDataType.Fp32:
                for (int i = 0; i < raw.Length; i += 4)
                {
                    float v = BinaryPrimitives.ReadSingleLittleEndian(raw[i..]);
                    BinaryPrimitives.WriteSingleLittleEndian(destination[i..], (v * 2f) + 1f);
                }

                break;
            case TensorDataType.Fp64:
                for (int i = 0; i < raw.Length; i += 8)
                {
                    double v = BinaryPrimitives.ReadDoubleLittleEndian(raw[i..]);
                    BinaryPrimitives.WriteDoubleLittleEndian(destination[i..], (v * 2d) + 1d);
                }

                break;
            default:
                ReverseElements(raw, destination);
                break;
        }
    }

    private static void ReverseElements(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        int pos = 0;
        int index = 0;
        while (pos < raw.Length)
        {
            if (raw.Length - pos < BytesTensor.PrefixSize)
            {
                throw new ArgumentException($"BYTES buffer of {raw.Length} bytes ends inside the length prefix of element {index}", nameof(raw));
            }

            uint len = BinaryPrimitives.ReadUInt32LittleEndian(raw[pos..]);
            raw.Slice(pos, BytesTensor.PrefixSize).CopyTo(destination[pos..]);
            pos += BytesTensor.PrefixSize;
            if (len > (uint)(raw.Length - pos))
            {
                throw new ArgumentException($"BYTES element {index} declares length {len} but only {raw.Length - pos} bytes remain", nameof(raw));
            }

            var element = destination.Slice(pos, (int)len);
            raw.Slice(pos, (int)len).CopyTo(element);
            element.Reverse();
            pos += (int)len;
            index++;
        }
    }
}
