using System.Buffers.Binary;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Handshake;

namespace DataPlane.Transfer.Tests.Handshake;

public class HandshakeCodecTests
{
    private static HandshakeMessage RdmaOffer() => new()
    {
        Type = HandshakeMessageType.Offer,
        Transport = TransportKind.Rdma,
        Flags = HandshakeFlags.Rehandshake | HandshakeFlags.RegionWritable | HandshakeFlags.RegionReadable,
        Generation = 3,
        QueuePairNumber = 0xABCDEF,
        PacketSequenceNumber = 0x123456,
        Gid = UInt128.Parse("00000000000000000000ffff0a000001", System.Globalization.NumberStyles.HexNumber, null),
        GidIndex = 3,
        Lid = 0,
        Mtu = 5,
        MaxReadAtomic = 16,
        TrafficClass = 106,
        ServiceLevel = 3,
        MaxMessageBytes = 65536,
        RemoteKey = 0xDEADBEEF,
        RegionAddress = 0x7f00_0000_1000,
        RegionLength = 64 << 20,
        NodeName = "gpu-node-7 ✓",
        FlowClass = "bulk",
    };

    [Fact]
    public void Round_trip_keeps_every_field()
    {
        var offer = RdmaOffer();
        byte[] bytes = HandshakeCodec.Encode(offer);

        Assert.Equal(HandshakeCodec.GetLength(offer), bytes.Length);
        var decoded = HandshakeCodec.Decode(bytes);
        Assert.Equal(offer, decoded);
        Assert.Equal(new RemoteRegion(0x7f00_0000_1000, 64 << 20, 0xDEADBEEF), decoded.Region);
    }

    [Fact]
    public void Gid_travels_in_network_order()
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());

        // ::ffff:10.0.0.1 as the 16 raw bytes of union ibv_gid.
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 }, bytes[24..40]);
        Assert.Equal("DPXF"u8.ToArray(), bytes[..4]);
    }

    [Fact]
    public void Tcp_offer_without_region_round_trips()
    {
        var offer = new HandshakeMessage { Transport = TransportKind.Tcp, MaxMessageBytes = 100, NodeName = "", FlowClass = "" };
        var decoded = HandshakeCodec.Decode(HandshakeCodec.Encode(offer));
        Assert.Equal(offer, decoded);
        Assert.Null(decoded.Region);
    }

    [Fact]
    public void Reject_round_trips_with_its_reason()
    {
        var reject = new HandshakeMessage { Type = HandshakeMessageType.Reject, RejectReason = HandshakeRejectReason.TransportMismatch };
        Assert.Equal(HandshakeRejectReason.TransportMismatch, HandshakeCodec.Decode(HandshakeCodec.Encode(reject)).RejectReason);
    }

    public static TheoryData<string, int, byte[]> Corruptions() => new()
    {
        { "magic", 0, [0x47] },
        { "version", 5, [0] },
        { "version", 5, [2] },
        { "length", 7, [10] },
        { "length", 6, [0xff] },
        { "type", 8, [0] },
        { "type", 8, [9] },
        { "transport", 9, [0] },
        { "transport", 9, [3] },
        { "flags", 11, [0x80] },
        { "qpn", 16, [1] },
        { "psn", 20, [1] },
        { "mtu", 41, [6] },
        { "mtu", 41, [0] },
        { "service_level", 43, [16] },
        { "reject_reason", 47, [9] },
        { "reject_reason", 47, [1] },
        { "region_length", 64, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] },
        { "node_name", 72, [65] },
        { "flow_class", 73, [33] },
        { "node_name", 74, [0xff] },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Decode_names_the_wrong_field(string field, int offset, byte[] patch)
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());
        patch.CopyTo(bytes, offset);

        var e = Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode(bytes));
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rdma_offer_without_a_queue_pair_is_refused()
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), 0);
        Assert.Equal("qpn", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode(bytes)).Field);
    }

    [Fact]
    public void Region_flags_without_a_region_are_refused()
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());
        bytes.AsSpan(56, 16).Clear();
        Assert.Equal("flags", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode(bytes)).Field);
    }

    [Fact]
    public void Truncated_and_padded_messages_are_refused_by_length()
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());
        Assert.Equal("length", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode(bytes[..^1])).Field);
        Assert.Equal("length", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode([.. bytes, 0])).Field);
        Assert.Equal("length", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.ReadHeader(bytes[..5])).Field);
    }

    [Fact]
    public void Declared_length_must_match_the_names()
    {
        byte[] bytes = HandshakeCodec.Encode(RdmaOffer());
        bytes[73] = 3; // "bulk" is 4 bytes: the names no longer add up to the declared length.
        Assert.Equal("length", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Decode(bytes)).Field);
    }

    [Fact]
    public void Encode_refuses_what_decode_would_refuse()
    {
        Assert.Equal("qpn", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Encode(RdmaOffer() with { QueuePairNumber = 1 << 24 })).Field);
        Assert.Equal("node_name", Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.Encode(RdmaOffer() with { NodeName = new string('x', 65) })).Field);
        Assert.Equal("reject_reason", Assert.Throws<HandshakeFormatException>(
            () => HandshakeCodec.Encode(new HandshakeMessage { Type = HandshakeMessageType.Reject })).Field);
    }

    [Fact]
    public void Header_check_reports_magic_before_anything_else()
    {
        var e = Assert.Throws<HandshakeFormatException>(() => HandshakeCodec.ReadHeader("GET / HTTP/1.1\r\n"u8));
        Assert.Equal("magic", e.Field);
        Assert.Contains("not a DataPlane transfer endpoint", e.Message, StringComparison.Ordinal);
    }
}

public class HandshakeNegotiationTests
{
    [Fact]
    public void Path_mtu_is_the_minimum_of_both_ports_and_the_cap()
    {
        Assert.Equal(3, HandshakeNegotiation.PathMtu(5, 3));
        Assert.Equal(4, HandshakeNegotiation.PathMtu(5, 5, cap: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => HandshakeNegotiation.PathMtu(0, 3));
    }

    [Theory]
    [InlineData(1500, 3)]
    [InlineData(9000, 5)]
    [InlineData(4096, 5)]
    [InlineData(256, 1)]
    public void Netdev_mtu_maps_to_the_largest_fitting_ibv_mtu(int bytes, byte mtu) => Assert.Equal(mtu, HandshakeNegotiation.MtuFromBytes(bytes));

    [Fact]
    public void Random_psns_fit_24_bits() =>
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.InRange(HandshakeNegotiation.RandomPacketSequenceNumber(), 0u, 0xFFFFFFu));
}
