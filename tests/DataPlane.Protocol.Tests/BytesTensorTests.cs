using System.Buffers.Binary;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests;

public class BytesTensorTests
{
    private const long Max = 1 << 20;

    [Fact]
    public void Encoding_is_little_endian_length_then_bytes()
    {
        byte[] raw = BytesTensor.Encode("ab", "", "xyz");
        Assert.Equal([2, 0, 0, 0, (byte)'a', (byte)'b', 0, 0, 0, 0, 3, 0, 0, 0, (byte)'x', (byte)'y', (byte)'z'], raw);
        Assert.Null(BytesTensor.Validate("input 'x'", raw, 3, Max));
        Assert.Equal(["ab", "", "xyz"], BytesTensor.Decode(raw).Select(b => b.ToStringUtf8()));
    }

    [Fact]
    public void Truncated_prefix_is_reported_with_the_element_and_offset()
    {
        byte[] raw = [.. BytesTensor.Encode("ab"), 1, 0];
        Assert.Equal("input 'x': BYTES buffer of 8 bytes ends inside the length prefix of element 1 (at byte 6); the shape needs 2 elements",
            BytesTensor.Validate("input 'x'", raw, 2, Max));
    }

    [Fact]
    public void Length_past_the_buffer_is_reported()
    {
        byte[] raw = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(raw, 100);
        Assert.Equal("input 'x': BYTES element 0 declares length 100 but only 4 bytes remain in the buffer of 8 bytes",
            BytesTensor.Validate("input 'x'", raw, 1, Max));
    }

    [Fact]
    public void Huge_length_does_not_overflow()
    {
        byte[] raw = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(raw, uint.MaxValue);
        Assert.Contains("limit", BytesTensor.Validate("input 'x'", raw, 1, Max));
        Assert.Contains("declares length 4294967295", BytesTensor.Validate("input 'x'", raw, 1, long.MaxValue));
    }

    [Fact]
    public void Trailing_bytes_and_too_few_elements_are_rejected()
    {
        Assert.Contains("1 bytes after the last of its 1 elements", BytesTensor.Validate("input 'x'", [.. BytesTensor.Encode("a"), 9], 1, Max));
        Assert.Contains("element 1", BytesTensor.Validate("input 'x'", BytesTensor.Encode("a"), 2, Max));
    }

    [Fact]
    public void Element_longer_than_the_limit_is_rejected()
    {
        Assert.Equal("input 'x': BYTES element 0 has length 5, more than the limit of 4",
            BytesTensor.Validate("input 'x'", BytesTensor.Encode("hello"), 1, 4));
    }

    [Fact]
    public void Offsets_walk_from_a_known_element()
    {
        byte[] raw = BytesTensor.Encode("a", "bb", "ccc", "dddd");
        Assert.Equal(0, BytesTensor.OffsetOf(raw, 0));
        Assert.Equal(5, BytesTensor.OffsetOf(raw, 1));
        Assert.Equal(11, BytesTensor.OffsetOf(raw, 2));
        Assert.Equal(18, BytesTensor.OffsetOf(raw, 3, 2, 11));
        Assert.Equal(raw.Length, BytesTensor.OffsetOf(raw, 4, 1, 5));
    }

    [Fact]
    public void Binary_elements_survive_a_round_trip()
    {
        var elements = new[] { ByteString.CopyFrom(0, 255, 1), ByteString.Empty, ByteString.CopyFrom(new byte[300]) };
        byte[] raw = BytesTensor.Encode(elements);
        Assert.Null(BytesTensor.Validate("t", raw, 3, Max));
        Assert.Equal(elements, BytesTensor.Decode(raw));
    }
}
