using System.Buffers.Binary;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Simulation.Tests;

public class SimulatedTransformTests
{
    [Fact]
    public void Unsigned_integers_add_one_and_wrap_at_their_maximum()
    {
        Assert.Equal(new byte[] { 0, 1, 43 }, SimulatedTransform.Apply(TensorDataType.UInt8, [255, 0, 42]));

        Assert.Equal(new ushort[] { 0, 1, 1001 }, U16(SimulatedTransform.Apply(TensorDataType.UInt16, Le16(ushort.MaxValue, 0, 1000))));
        Assert.Equal(new uint[] { 0, 1, 7 }, U32(SimulatedTransform.Apply(TensorDataType.UInt32, Le32(uint.MaxValue, 0, 6))));
        Assert.Equal(new ulong[] { 0, 1, ulong.MaxValue }, U64(SimulatedTransform.Apply(TensorDataType.UInt64, Le64(ulong.MaxValue, 0, ulong.MaxValue - 1))));
    }

    [Fact]
    public void Signed_integers_add_one_and_wrap_from_maximum_to_minimum()
    {
        var int8 = SimulatedTransform.Apply(TensorDataType.Int8, [unchecked((byte)sbyte.MaxValue), unchecked((byte)(sbyte)-1), unchecked((byte)sbyte.MinValue)]);
        Assert.Equal(new sbyte[] { sbyte.MinValue, 0, sbyte.MinValue + 1 }, int8.Select(b => (sbyte)b).ToArray());

        Assert.Equal(new short[] { short.MinValue, 0, -41 },
            U16(SimulatedTransform.Apply(TensorDataType.Int16, Le16(unchecked((ushort)short.MaxValue), unchecked((ushort)(short)-1), unchecked((ushort)(short)-42))))
                .Select(v => (short)v).ToArray());
        Assert.Equal(new int[] { int.MinValue, 0, -99 },
            U32(SimulatedTransform.Apply(TensorDataType.Int32, Le32(int.MaxValue, unchecked((uint)-1), unchecked((uint)-100)))).Select(v => (int)v).ToArray());
        Assert.Equal(new long[] { long.MinValue, 0, long.MinValue + 1 },
            U64(SimulatedTransform.Apply(TensorDataType.Int64, Le64(long.MaxValue, unchecked((ulong)-1L), unchecked((ulong)long.MinValue)))).Select(v => (long)v).ToArray());
    }

    [Fact]
    public void Fp32_and_fp64_double_and_add_one()
    {
        var fp32 = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(fp32, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(fp32.AsSpan(4), -0.5f);
        BinaryPrimitives.WriteSingleLittleEndian(fp32.AsSpan(8), 0.1f);
        var out32 = SimulatedTransform.Apply(TensorDataType.Fp32, fp32);
        Assert.Equal(4f, BinaryPrimitives.ReadSingleLittleEndian(out32));
        Assert.Equal(0f, BinaryPrimitives.ReadSingleLittleEndian(out32.AsSpan(4)));
        Assert.Equal((0.1f * 2f) + 1f, BinaryPrimitives.ReadSingleLittleEndian(out32.AsSpan(8)));

        var fp64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(fp64, 1e6);
        BinaryPrimitives.WriteDoubleLittleEndian(fp64.AsSpan(8), -3.25);
        var out64 = SimulatedTransform.Apply(TensorDataType.Fp64, fp64);
        Assert.Equal(2_000_001d, BinaryPrimitives.ReadDoubleLittleEndian(out64));
        Assert.Equal(-5.5d, BinaryPrimitives.ReadDoubleLittleEndian(out64.AsSpan(8)));
    }

    [Fact]
    public void Fp16_and_bf16_flip_the_sign_bit()
    {
        // FP16: 1.0 = 0x3C00, -2.5 = 0xC100, -0 = 0x8000.
        var fp16 = SimulatedTransform.Apply(TensorDataType.Fp16, Le16(0x3C00, 0xC100, 0x8000));
        Assert.Equal(new ushort[] { 0xBC00, 0x4100, 0x0000 }, U16(fp16));
        Assert.Equal((Half)(-1.0), BitConverter.UInt16BitsToHalf(U16(fp16)[0]));

        // BF16: 1.0 = 0x3F80, -1.0 = 0xBF80.
        Assert.Equal(new ushort[] { 0xBF80, 0x3F80, 0xFFFF }, U16(SimulatedTransform.Apply(TensorDataType.Bf16, Le16(0x3F80, 0xBF80, 0x7FFF))));
    }

    [Fact]
    public void Bool_is_negated()
    {
        Assert.Equal(new byte[] { 1, 0, 0, 1 }, SimulatedTransform.Apply(TensorDataType.Bool, [0, 1, 1, 0]));
    }

    [Fact]
    public void Bytes_elements_are_reversed_and_keep_their_length_prefixes()
    {
        var raw = BytesTensor.Encode("abc", "", "xy", "z");
        var output = SimulatedTransform.Apply(TensorDataType.Bytes, raw);

        Assert.Equal(raw.Length, output.Length);
        var elements = BytesTensor.Decode(output).Select(e => e.ToStringUtf8()).ToArray();
        Assert.Equal(["cba", "", "yx", "z"], elements);
        Assert.Equal(raw.AsSpan(0, 4).ToArray(), output.AsSpan(0, 4).ToArray());
    }

    [Fact]
    public void The_input_is_not_modified_and_the_output_is_a_new_buffer()
    {
        foreach (var type in TensorDataTypes.All)
        {
            var raw = Infrastructure.Requests.Sample(type, 9);
            var copy = raw.ToArray();
            var output = SimulatedTransform.Apply(type, raw);
            Assert.Equal(copy, raw);
            Assert.Equal(raw.Length, output.Length);
            Assert.NotSame(raw, output);
            Assert.Equal(output, SimulatedTransform.Apply(type, copy)); // pure: same input, same output
        }
    }

    [Fact]
    public void Malformed_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => SimulatedTransform.Apply(TensorDataType.Int32, [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => SimulatedTransform.Apply(TensorDataType.Fp64, new byte[12]));
        Assert.Throws<ArgumentException>(() => SimulatedTransform.Apply(TensorDataType.Bytes, [5, 0, 0, 0, (byte)'a']));
        Assert.Throws<ArgumentException>(() => SimulatedTransform.Apply(TensorDataType.Bytes, [1, 0]));
        Assert.Throws<ArgumentException>(() => SimulatedTransform.Apply(TensorDataType.Invalid, [1]));
    }

    private static byte[] Le16(params ushort[] values)
    {
        var b = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), values[i]);
        }

        return b;
    }

    private static byte[] Le32(params uint[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 4), values[i]);
        }

        return b;
    }

    private static byte[] Le64(params ulong[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(i * 8), values[i]);
        }

        return b;
    }

    private static ushort[] U16(byte[] b) => Enumerable.Range(0, b.Length / 2).Select(i => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i * 2))).ToArray();

    private static uint[] U32(byte[] b) => Enumerable.Range(0, b.Length / 4).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i * 4))).ToArray();

    private static ulong[] U64(byte[] b) => Enumerable.Range(0, b.Length / 8).Select(i => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(i * 8))).ToArray();
}
