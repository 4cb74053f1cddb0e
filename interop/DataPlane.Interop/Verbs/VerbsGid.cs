using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Interop.Verbs;

/// <summary>A 128-bit GID (union ibv_gid), in wire (network) byte order. On RoCE a GID is an IPv6 address:
/// <c>::ffff:a.b.c.d</c> for an IPv4 address of the netdev, <c>fe80::/10</c> link-local, or a global IPv6 address.</summary>
public readonly struct VerbsGid : IEquatable<VerbsGid>
{
    /// <summary>Length in bytes.</summary>
    public const int Size = 16;

    private readonly ulong _high; // bytes 0-7, big-endian
    private readonly ulong _low;  // bytes 8-15, big-endian

    /// <summary>From 16 raw bytes.</summary>
    public VerbsGid(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException("a GID is 16 bytes", nameof(bytes));
        }

        _high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _low = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
    }

    /// <summary>The all-zero GID (an empty table slot).</summary>
    public bool IsZero => _high == 0 && _low == 0;

    /// <summary>In fe80::/10.</summary>
    public bool IsLinkLocal => (_high >> 54) == (0xfe80ul >> 6);

    /// <summary>An IPv4-mapped IPv6 address (::ffff:a.b.c.d).</summary>
    public bool IsIPv4Mapped => _high == 0 && (_low >> 32) == 0xffff;

    /// <summary>The GID for an address: IPv6 as is, IPv4 as ::ffff:a.b.c.d (the RoCE v2 GID of that address).</summary>
    public static VerbsGid FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        Span<byte> bytes = stackalloc byte[Size];
        if (!v6.TryWriteBytes(bytes, out int written) || written != Size)
        {
            throw new ArgumentException("not an IPv4 or IPv6 address", nameof(address));
        }

        return new VerbsGid(bytes);
    }

    /// <summary>Parses an IPv6 or IPv4 address text (see <see cref="FromIPAddress"/>).</summary>
    public static VerbsGid Parse(string text) => FromIPAddress(IPAddress.Parse(text));

    /// <summary>Writes the 16 bytes.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("needs 16 bytes", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
    }

    /// <summary>The 16 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        byte[] bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>The address: IPv4 for an IPv4-mapped GID, IPv6 otherwise.</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        var v6 = new IPAddress(bytes);
        return IsIPv4Mapped ? v6.MapToIPv4() : v6;
    }

    /// <summary>IPv6 text, e.g. "::ffff:127.0.0.1" or "fe80::ff:fe00:1".</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        return new IPAddress(bytes).ToString();
    }

    /// <inheritdoc/>
    public bool Equals(VerbsGid other) => _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is VerbsGid other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>Equality.</summary>
    public static bool operator ==(VerbsGid left, VerbsGid right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(VerbsGid left, VerbsGid right) => !left.Equals(right);
}
