using System.Buffers.Binary;
using System.Text;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Handshake;

/// <summary>Binary form of <see cref="HandshakeMessage"/>, big-endian (network order), fixed layout:
/// <code>
///  0 u32 magic "DPXF"       4 u16 version        6 u16 length (whole message)
///  8 u8  type               9 u8  transport     10 u16 flags
/// 12 u32 generation        16 u32 qpn           20 u32 psn
/// 24 16B gid               40 u8  gid index     41 u8  mtu (ibv_mtu)
/// 42 u8  traffic class     43 u8  service level 44 u16 lid
/// 46 u8  max rd atomic     47 u8  reject reason 48 u32 rkey
/// 52 u32 max message bytes 56 u64 region address 64 u64 region length
/// 72 u8  node name length  73 u8  flow class length  74 node name, flow class (UTF-8)
/// </code>
/// Decoding is strict: every field is checked and the first wrong one is named in a
/// <see cref="HandshakeFormatException"/>. A reader reads <see cref="HeaderLength"/> bytes, calls
/// <see cref="ReadHeader"/> (which rejects a wrong magic, version or length before any more is read), then
/// reads the rest and calls <see cref="Decode"/>.</summary>
public static class HandshakeCodec
{
    /// <summary>"DPXF".</summary>
    public const uint Magic = 0x44505846;

    /// <summary>The version this code writes.</summary>
    public const ushort CurrentVersion = 1;

    /// <summary>The oldest version this code reads.</summary>
    public const ushort MinimumVersion = 1;

    /// <summary>Bytes of magic, version and length.</summary>
    public const int HeaderLength = 8;

    /// <summary>Bytes before the names.</summary>
    public const int FixedLength = 74;

    /// <summary>Longest node name in UTF-8 bytes.</summary>
    public const int MaxNodeNameBytes = 64;

    /// <summary>Longest flow class name in UTF-8 bytes.</summary>
    public const int MaxFlowClassBytes = 32;

    /// <summary>Longest message.</summary>
    public const int MaxLength = FixedLength + MaxNodeNameBytes + MaxFlowClassBytes;

    private const uint Max24 = 0xFFFFFF;
    private const HandshakeFlags KnownFlags = HandshakeFlags.Rehandshake | HandshakeFlags.RegionWritable | HandshakeFlags.RegionReadable | HandshakeFlags.ClearData;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes <paramref name="message"/> encodes to.</summary>
    public static int GetLength(HandshakeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return FixedLength + Encoding.UTF8.GetByteCount(message.NodeName) + Encoding.UTF8.GetByteCount(message.FlowClass);
    }

    /// <summary>Encodes <paramref name="message"/> into a new array. The values are checked as
    /// <see cref="Decode"/> checks them, so nothing is sent that the peer would refuse.</summary>
    public static byte[] Encode(HandshakeMessage message)
    {
        var bytes = new byte[GetLength(message)];
        Encode(message, bytes);
        return bytes;
    }

    /// <summary>Encodes <paramref name="message"/> into <paramref name="destination"/>; returns the length.</summary>
    public static int Encode(HandshakeMessage message, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(message);
        int nameBytes = Encoding.UTF8.GetByteCount(message.NodeName);
        int classBytes = Encoding.UTF8.GetByteCount(message.FlowClass);
        if (nameBytes > MaxNodeNameBytes)
        {
            throw new HandshakeFormatException("node_name", $"{nameBytes} bytes, at most {MaxNodeNameBytes}");
        }

        if (classBytes > MaxFlowClassBytes)
        {
            throw new HandshakeFormatException("flow_class", $"{classBytes} bytes, at most {MaxFlowClassBytes}");
        }

        int length = FixedLength + nameBytes + classBytes;
        if (destination.Length < length)
        {
            throw new ArgumentException($"needs {length} bytes", nameof(destination));
        }

        var d = destination[..length];
        d.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(d, Magic);
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], CurrentVersion);
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], (ushort)length);
        d[8] = (byte)message.Type;
        d[9] = (byte)message.Transport;
        BinaryPrimitives.WriteUInt16BigEndian(d[10..], (ushort)message.Flags);
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], message.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d[16..], message.QueuePairNumber);
        BinaryPrimitives.WriteUInt32BigEndian(d[20..], message.PacketSequenceNumber);
        BinaryPrimitives.WriteUInt128BigEndian(d[24..], message.Gid);
        d[40] = message.GidIndex;
        d[41] = message.Mtu;
        d[42] = message.TrafficClass;
        d[43] = message.ServiceLevel;
        BinaryPrimitives.WriteUInt16BigEndian(d[44..], message.Lid);
        d[46] = message.MaxReadAtomic;
        d[47] = (byte)message.RejectReason;
        BinaryPrimitives.WriteUInt32BigEndian(d[48..], message.RemoteKey);
        BinaryPrimitives.WriteUInt32BigEndian(d[52..], message.MaxMessageBytes);
        BinaryPrimitives.WriteUInt64BigEndian(d[56..], message.RegionAddress);
        BinaryPrimitives.WriteUInt64BigEndian(d[64..], message.RegionLength);
        d[72] = (byte)nameBytes;
        d[73] = (byte)classBytes;
        Encoding.UTF8.GetBytes(message.NodeName, d[FixedLength..]);
        Encoding.UTF8.GetBytes(message.FlowClass, d[(FixedLength + nameBytes)..]);

        // Refuse to send what the peer would refuse to read.
        Decode(d);
        return length;
    }

    /// <summary>Checks the first <see cref="HeaderLength"/> bytes and returns the whole message's length.</summary>
    /// <exception cref="HandshakeFormatException">Wrong magic, unsupported version or impossible length.</exception>
    public static int ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderLength)
        {
            throw new HandshakeFormatException("length", $"{header.Length} bytes, shorter than the {HeaderLength}-byte header");
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != Magic)
        {
            throw new HandshakeFormatException("magic", $"0x{magic:x8} is not 0x{Magic:x8} (\"DPXF\"): the peer is not a DataPlane transfer endpoint");
        }

        ushort version = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        if (version is < MinimumVersion or > CurrentVersion)
        {
            throw new HandshakeFormatException("version", $"{version} is not supported (this side speaks {MinimumVersion}..{CurrentVersion})");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(header[6..]);
        if (length is < FixedLength or > MaxLength)
        {
            throw new HandshakeFormatException("length", $"{length} is outside {FixedLength}..{MaxLength}");
        }

        return length;
    }

    /// <summary>Decodes one whole message (exactly its declared length).</summary>
    /// <exception cref="HandshakeFormatException">A field is wrong; <see cref="HandshakeFormatException.Field"/> names it.</exception>
    public static HandshakeMessage Decode(ReadOnlySpan<byte> source)
    {
        int length = ReadHeader(source);
        if (source.Length != length)
        {
            throw new HandshakeFormatException("length", $"declared {length} bytes but {source.Length} arrived");
        }

        var type = (HandshakeMessageType)source[8];
        if (type is < HandshakeMessageType.Offer or > HandshakeMessageType.Reject)
        {
            throw new HandshakeFormatException("type", $"{source[8]} is not a message type (1 offer, 2 answer, 3 ready, 4 reject)");
        }

        var transport = (TransportKind)source[9];
        if (transport is not (TransportKind.Rdma or TransportKind.Tcp))
        {
            throw new HandshakeFormatException("transport", $"{source[9]} is not a transport (1 rdma, 2 tcp)");
        }

        var flags = (HandshakeFlags)BinaryPrimitives.ReadUInt16BigEndian(source[10..]);
        if ((flags & ~KnownFlags) != 0)
        {
            throw new HandshakeFormatException("flags", $"unknown bits 0x{(ushort)(flags & ~KnownFlags):x4}");
        }

        uint qpn = BinaryPrimitives.ReadUInt32BigEndian(source[16..]);
        if (qpn > Max24)
        {
            throw new HandshakeFormatException("qpn", $"0x{qpn:x} does not fit 24 bits");
        }

        uint psn = BinaryPrimitives.ReadUInt32BigEndian(source[20..]);
        if (psn > Max24)
        {
            throw new HandshakeFormatException("psn", $"0x{psn:x} does not fit 24 bits");
        }

        byte mtu = source[41];
        if (mtu > 5)
        {
            throw new HandshakeFormatException("mtu", $"{mtu} is not an ibv_mtu (1 = 256 … 5 = 4096)");
        }

        if (transport == TransportKind.Rdma && type is HandshakeMessageType.Offer or HandshakeMessageType.Answer)
        {
            if (mtu == 0)
            {
                throw new HandshakeFormatException("mtu", "an RDMA offer or answer needs a path MTU (1..5)");
            }

            if (qpn == 0)
            {
                throw new HandshakeFormatException("qpn", "an RDMA offer or answer needs a queue pair number");
            }
        }

        byte sl = source[43];
        if (sl > 15)
        {
            throw new HandshakeFormatException("service_level", $"{sl} is outside 0..15");
        }

        var reason = (HandshakeRejectReason)source[47];
        if (reason > HandshakeRejectReason.NotAuthorized)
        {
            throw new HandshakeFormatException("reject_reason", $"{source[47]} is not a reject reason");
        }

        if ((type == HandshakeMessageType.Reject) != (reason != HandshakeRejectReason.None))
        {
            throw new HandshakeFormatException("reject_reason", type == HandshakeMessageType.Reject
                ? "a reject message needs a reason"
                : $"a {type} message carries reject reason {reason}");
        }

        ulong address = BinaryPrimitives.ReadUInt64BigEndian(source[56..]);
        ulong regionLength = BinaryPrimitives.ReadUInt64BigEndian(source[64..]);
        if (regionLength > ulong.MaxValue - address)
        {
            throw new HandshakeFormatException("region_length", $"0x{address:x}+{regionLength} wraps around the address space");
        }

        if (regionLength == 0 && (flags & (HandshakeFlags.RegionReadable | HandshakeFlags.RegionWritable)) != 0)
        {
            throw new HandshakeFormatException("flags", "region access flags without a region");
        }

        int nameBytes = source[72];
        int classBytes = source[73];
        if (nameBytes > MaxNodeNameBytes)
        {
            throw new HandshakeFormatException("node_name", $"{nameBytes} bytes, at most {MaxNodeNameBytes}");
        }

        if (classBytes > MaxFlowClassBytes)
        {
            throw new HandshakeFormatException("flow_class", $"{classBytes} bytes, at most {MaxFlowClassBytes}");
        }

        if (FixedLength + nameBytes + classBytes != length)
        {
            throw new HandshakeFormatException("length", $"declared {length} bytes but the names need {FixedLength + nameBytes + classBytes}");
        }

        return new HandshakeMessage
        {
            Type = type,
            Version = BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
            Transport = transport,
            Flags = flags,
            Generation = BinaryPrimitives.ReadUInt32BigEndian(source[12..]),
            QueuePairNumber = qpn,
            PacketSequenceNumber = psn,
            Gid = BinaryPrimitives.ReadUInt128BigEndian(source[24..]),
            GidIndex = source[40],
            Mtu = mtu,
            TrafficClass = source[42],
            ServiceLevel = sl,
            Lid = BinaryPrimitives.ReadUInt16BigEndian(source[44..]),
            MaxReadAtomic = source[46],
            RejectReason = reason,
            RemoteKey = BinaryPrimitives.ReadUInt32BigEndian(source[48..]),
            MaxMessageBytes = BinaryPrimitives.ReadUInt32BigEndian(source[52..]),
            RegionAddress = address,
            RegionLength = regionLength,
            NodeName = Utf8("node_name", source.Slice(FixedLength, nameBytes)),
            FlowClass = Utf8("flow_class", source.Slice(FixedLength + nameBytes, classBytes)),
        };
    }

    private static string Utf8(string field, ReadOnlySpan<byte> bytes)
    {
        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new HandshakeFormatException(field, "not valid UTF-8");
        }
    }
}
