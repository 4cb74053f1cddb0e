using System.Buffers.Binary;
using Google.Protobuf;

namespace DataPlane.Protocol.Json;

/// <summary>Reads the protobuf binary encoding from a span without copying: tags, varints,
/// fixed-width values and length-delimited slices (nested messages, strings, bytes, packed
/// arrays). The input is always a message we serialized ourselves, so malformed data is a bug and
/// throws <see cref="InvalidOperationException"/>.</summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public WireReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly bool End => _position >= _data.Length;

    public (int Number, WireFormat.WireType WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        int number = (int)(tag >> 3);
        if (number <= 0 || tag > uint.MaxValue)
        {
            throw Malformed("invalid tag");
        }

        return (number, (WireFormat.WireType)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw Malformed("truncated varint");
            }

            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw Malformed("varint longer than 10 bytes");
    }

    public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>Reads a length prefix and returns where the payload starts in the input, and
    /// its length.</summary>
    public (int Offset, int Length) ReadLengthDelimited()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw Malformed("length-delimited field runs past the end");
        }

        int offset = _position;
        _position += (int)length;
        return (offset, (int)length);
    }

    /// <summary>Skips a value of <paramref name="wireType"/> (a whole group for StartGroup).</summary>
    public void Skip(WireFormat.WireType wireType, int number)
    {
        switch (wireType)
        {
            case WireFormat.WireType.Varint:
                ReadVarint();
                break;
            case WireFormat.WireType.Fixed64:
                Take(8);
                break;
            case WireFormat.WireType.Fixed32:
                Take(4);
                break;
            case WireFormat.WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case WireFormat.WireType.StartGroup:
                while (true)
                {
                    var (inner, innerType) = ReadTag();
                    if (innerType == WireFormat.WireType.EndGroup)
                    {
                        if (inner != number)
                        {
                            throw Malformed("mismatched end of group");
                        }

                        return;
                    }

                    Skip(innerType, inner);
                }

            default:
                throw Malformed($"unexpected wire type {(int)wireType}");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (_data.Length - _position < count)
        {
            throw Malformed("truncated fixed-width value");
        }

        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    private static InvalidOperationException Malformed(string what) =>
        new($"malformed protobuf binary data: {what}");
}
