using System.Buffers.Binary;
using Google.Protobuf;

namespace DataPlane.Protocol.Tensors;

/// <summary>The raw encoding of BYTES tensors: each element is a 4-byte little-endian
/// unsigned length followed by that many bytes, elements concatenated in row-major order.</summary>
public static class BytesTensor
{
    /// <summary>Size of the length prefix of one element.</summary>
    public const int PrefixSize = 4;

    /// <summary>Checks that <paramref name="raw"/> holds exactly <paramref name="elementCount"/>
    /// well-formed elements, each no longer than <paramref name="maxElementLength"/>.
    /// Returns null when valid, otherwise a message naming <paramref name="what"/>.</summary>
    /// <typeparam name="TLabel">A string, or a value that formats the name only when a message is written.</typeparam>
    public static string? Validate<TLabel>(TLabel what, ReadOnlySpan<byte> raw, long elementCount, long maxElementLength)
    {
        int pos = 0;
        for (long i = 0; i < elementCount; i++)
        {
            if (raw.Length - pos < PrefixSize)
            {
                return $"{what}: BYTES buffer of {raw.Length} bytes ends inside the length prefix of element {i} " +
                    $"(at byte {pos}); the shape needs {elementCount} elements";
            }

            uint len = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(pos, PrefixSize));
            pos += PrefixSize;
            if (len > maxElementLength)
            {
                return $"{what}: BYTES element {i} has length {len}, more than the limit of {maxElementLength}";
            }

            if (len > (uint)(raw.Length - pos))
            {
                return $"{what}: BYTES element {i} declares length {len} but only {raw.Length - pos} bytes remain " +
                    $"in the buffer of {raw.Length} bytes";
            }

            pos += (int)len;
        }

        if (pos != raw.Length)
        {
            return $"{what}: BYTES buffer has {raw.Length - pos} bytes after the last of its {elementCount} elements " +
                $"({raw.Length} bytes in all)";
        }

        return null;
    }

    /// <summary>Byte offset at which element <paramref name="elementIndex"/> starts; the buffer
    /// must have been validated. Walking from <paramref name="fromOffset"/>, which must be the
    /// start of element <paramref name="fromElement"/>, lets callers split in one pass.</summary>
    public static int OffsetOf(ReadOnlySpan<byte> raw, long elementIndex, long fromElement = 0, int fromOffset = 0)
    {
        int pos = fromOffset;
        for (long i = fromElement; i < elementIndex; i++)
        {
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(pos, PrefixSize));
            pos += PrefixSize + (int)len;
        }

        return pos;
    }

    /// <summary>Encodes elements in the raw BYTES format.</summary>
    public static byte[] Encode(IReadOnlyList<ByteString> elements)
    {
        long total = 0;
        for (int i = 0; i < elements.Count; i++)
        {
            total += PrefixSize + elements[i].Length;
        }

        var buffer = new byte[total];
        int pos = 0;
        for (int i = 0; i < elements.Count; i++)
        {
            var e = elements[i].Span;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(pos, PrefixSize), (uint)e.Length);
            pos += PrefixSize;
            e.CopyTo(buffer.AsSpan(pos));
            pos += e.Length;
        }

        return buffer;
    }

    /// <summary>Encodes UTF-8 strings in the raw BYTES format.</summary>
    public static byte[] Encode(params string[] elements) =>
        Encode(elements.Select(ByteString.CopyFromUtf8).ToArray());

    /// <summary>Decodes a validated raw BYTES buffer into its elements (copies).</summary>
    public static List<ByteString> Decode(ReadOnlySpan<byte> raw)
    {
        var list = new List<ByteString>();
        int pos = 0;
        while (pos < raw.Length)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(pos, PrefixSize));
            pos += PrefixSize;
            list.Add(ByteString.CopyFrom(raw.Slice(pos, len)));
            pos += len;
        }

        return list;
    }
}
