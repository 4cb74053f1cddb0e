using System.Buffers.Binary;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Tcp;

/// <summary>Operation code of a data frame.</summary>
internal enum FrameOp : byte
{
    /// <summary>Initiator → target: payload to store at (key, address). Answered by <see cref="Ack"/>.</summary>
    Write = 1,

    /// <summary>Target → initiator: the WRITE or SEND with this id is done (or failed: status).</summary>
    Ack = 2,

    /// <summary>Initiator → target: send back length bytes at (key, address).</summary>
    ReadRequest = 3,

    /// <summary>Target → initiator: the bytes of a READ (none when status is not OK).</summary>
    ReadResponse = 4,

    /// <summary>Initiator → target: a message for the target's receive queue. Answered by <see cref="Ack"/>.</summary>
    Send = 5,
}

/// <summary>Outcome carried by acknowledgements.</summary>
internal enum WireStatus : byte
{
    Ok = 0,
    RemoteAccess = 1,
    InvalidRequest = 2,
    OperationError = 3,
}

/// <summary>The 32-byte header of every frame after the handshake (little-endian; both ends are this code):
/// <code>
///  0 u8 op   1 u8 status   2 u16 reserved   4 u32 length
///  8 u64 request id       16 u32 key       20 u32 reserved   24 u64 address
/// </code>
/// Length is the payload that follows (WRITE, SEND, READ response) or the bytes asked for (READ request).</summary>
internal readonly record struct TcpFrame(FrameOp Op, WireStatus Status, uint Length, ulong RequestId, uint Key, ulong Address)
{
    public const int HeaderLength = 32;

    public void WriteTo(Span<byte> destination)
    {
        destination[..HeaderLength].Clear();
        destination[0] = (byte)Op;
        destination[1] = (byte)Status;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], RequestId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], Key);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], Address);
    }

    public static TcpFrame ReadFrom(ReadOnlySpan<byte> source) => new(
        (FrameOp)source[0],
        (WireStatus)source[1],
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[24..]));

    public static TransferStatus ToStatus(WireStatus status) => status switch
    {
        WireStatus.Ok => TransferStatus.Success,
        WireStatus.RemoteAccess => TransferStatus.RemoteAccessError,
        WireStatus.InvalidRequest => TransferStatus.RemoteInvalidRequest,
        _ => TransferStatus.RemoteOperationError,
    };
}
