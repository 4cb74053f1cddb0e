using System.Buffers.Binary;

namespace DataPlane.Transfer.Abstractions;

/// <summary>A region registered on a peer, as the peer advertised it: the peer's virtual address of its first
/// byte, its length and the key that grants access (an RDMA <c>rkey</c>; for TCP a token the peer's transport
/// issued). Transfers name a byte range of it by an offset from <see cref="Address"/>. Peers learn regions
/// from the handshake (<see cref="ITransferConnection.PeerRegion"/>) or from a message (<see cref="WriteTo"/>).</summary>
/// <param name="Address">The peer's address of the region's first byte.</param>
/// <param name="Length">The region's length in bytes.</param>
/// <param name="RemoteKey">The key the peer checks on every access.</param>
public readonly record struct RemoteRegion(ulong Address, ulong Length, uint RemoteKey)
{
    /// <summary>Bytes of the encoded form (<see cref="WriteTo"/>).</summary>
    public const int EncodedLength = 20;

    /// <summary>True when <paramref name="offset"/> + <paramref name="length"/> lies inside the region.</summary>
    public bool Contains(ulong offset, ulong length) => offset <= Length && length <= Length - offset;

    /// <summary>Writes the region in 20 bytes (address, length, key; little-endian) so it can travel in a message.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < EncodedLength)
        {
            throw new ArgumentException($"needs {EncodedLength} bytes", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(destination, Address);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], RemoteKey);
    }

    /// <summary>Reads a region written by <see cref="WriteTo"/>.</summary>
    public static RemoteRegion ReadFrom(ReadOnlySpan<byte> source)
    {
        if (source.Length < EncodedLength)
        {
            throw new ArgumentException($"needs {EncodedLength} bytes", nameof(source));
        }

        return new RemoteRegion(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[16..]));
    }

    /// <inheritdoc/>
    public override string ToString() => $"0x{Address:x}+{Length} key 0x{RemoteKey:x}";
}
