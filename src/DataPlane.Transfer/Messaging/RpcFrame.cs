using System.Buffers.Binary;

namespace DataPlane.Transfer.Messaging;

/// <summary>What an RPC frame carries.</summary>
public enum RpcFrameKind : byte
{
    /// <summary>A call.</summary>
    Request = 1,

    /// <summary>The answer to a call.</summary>
    Response = 2,

    /// <summary>The call failed at the peer: a status number and a UTF-8 message.</summary>
    Error = 3,
}

/// <summary>The header in front of every fragment of an RPC message sent as transfer-engine messages (SEND):
/// magic "DPRP", version, kind, method, call id, the whole message's length and this fragment's offset, big-endian.
/// A message longer than what the peer receives in one SEND goes as several fragments, in order.</summary>
internal readonly record struct RpcFrame(RpcFrameKind Kind, ushort Method, ulong Id, int Total, int Offset)
{
    public const int Size = 24;
    public const uint Magic = 0x44505250; // "DPRP"
    public const byte Version = 1;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        destination[4] = Version;
        destination[5] = (byte)Kind;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], Method);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Id);
        BinaryPrimitives.WriteInt32BigEndian(destination[16..], Total);
        BinaryPrimitives.WriteInt32BigEndian(destination[20..], Offset);
    }

    /// <summary>Reads a header and checks it against the fragment it came with; the error names the field.</summary>
    public static RpcFrame Read(ReadOnlySpan<byte> message, int maxMessageBytes)
    {
        if (message.Length < Size)
        {
            throw new InvalidDataException($"RPC fragment of {message.Length} bytes is shorter than its {Size}-byte header");
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(message);
        if (magic != Magic)
        {
            throw new InvalidDataException($"RPC magic is 0x{magic:x8}, expected 0x{Magic:x8}");
        }

        if (message[4] != Version)
        {
            throw new InvalidDataException($"RPC version {message[4]} is not supported (this side speaks {Version})");
        }

        var kind = (RpcFrameKind)message[5];
        if (kind is not (RpcFrameKind.Request or RpcFrameKind.Response or RpcFrameKind.Error))
        {
            throw new InvalidDataException($"RPC kind {message[5]} is unknown");
        }

        var frame = new RpcFrame(kind, BinaryPrimitives.ReadUInt16BigEndian(message[6..]), BinaryPrimitives.ReadUInt64BigEndian(message[8..]),
            BinaryPrimitives.ReadInt32BigEndian(message[16..]), BinaryPrimitives.ReadInt32BigEndian(message[20..]));
        int length = message.Length - Size;
        if (frame.Total < 0 || frame.Total > maxMessageBytes)
        {
            throw new InvalidDataException($"RPC total length {frame.Total} is outside 0..{maxMessageBytes}");
        }

        if (frame.Offset < 0 || (long)frame.Offset + length > frame.Total)
        {
            throw new InvalidDataException($"RPC fragment at offset {frame.Offset} with {length} bytes runs past the total length {frame.Total}");
        }

        return frame;
    }
}
