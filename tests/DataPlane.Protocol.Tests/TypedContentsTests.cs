using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests;

public class TypedContentsTests
{
    [Fact]
    public void Every_typed_datatype_round_trips_through_raw()
    {
        var cases = new (TensorDataType Type, InferTensorContents Contents, byte[] Raw)[]
        {
            (TensorDataType.Bool, Make(c => c.BoolContents.Add([true, false, true])), [1, 0, 1]),
            (TensorDataType.Int8, Make(c => c.IntContents.Add([-128, 127, -1])), [0x80, 0x7f, 0xff]),
            (TensorDataType.Int16, Make(c => c.IntContents.Add([-2, 258])), [0xfe, 0xff, 0x02, 0x01]),
            (TensorDataType.Int32, Make(c => c.IntContents.Add([1, -1])), [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            (TensorDataType.Int64, Make(c => c.Int64Contents.Add([long.MinValue])), [0, 0, 0, 0, 0, 0, 0, 0x80]),
            (TensorDataType.UInt8, Make(c => c.UintContents.Add([0, 255])), [0, 255]),
            (TensorDataType.UInt16, Make(c => c.UintContents.Add([65535])), [0xff, 0xff]),
            (TensorDataType.UInt32, Make(c => c.UintContents.Add([0x01020304])), [4, 3, 2, 1]),
            (TensorDataType.UInt64, Make(c => c.Uint64Contents.Add([ulong.MaxValue])), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (TensorDataType.Fp32, Make(c => c.Fp32Contents.Add([1.0f])), BitConverter.GetBytes(1.0f)),
            (TensorDataType.Fp64, Make(c => c.Fp64Contents.Add([-2.5])), BitConverter.GetBytes(-2.5)),
            (TensorDataType.Bytes, Make(c => c.BytesContents.Add(ByteString.CopyFromUtf8("hi"))), [2, 0, 0, 0, (byte)'h', (byte)'i']),
        };
        foreach (var (type, contents, raw) in cases)
        {
            long count = type == TensorDataType.Bytes ? 1 : raw.Length / type.ElementSize();
            Assert.Null(TypedContents.Validate("input 'x'", type, contents, count, 1 << 20));
            Assert.Equal(raw, TypedContents.ToRaw(type, contents));
            Assert.Equal(contents, TypedContents.FromRaw(type, raw));
        }
    }

    [Fact]
    public void Values_in_the_wrong_field_name_both_fields()
    {
        var c = Make(c => c.Int64Contents.Add(1));
        Assert.Equal("input 'x': datatype INT32 belongs in int_contents, but int64_contents has 1 values",
            TypedContents.Validate("input 'x'", TensorDataType.Int32, c, 1, 100));
    }

    [Fact]
    public void Count_mismatch_names_the_field_and_both_counts()
    {
        var c = Make(c => c.Fp32Contents.Add([1, 2, 3]));
        Assert.Equal("input 'x': fp32_contents has 3 values but the shape needs 4",
            TypedContents.Validate("input 'x'", TensorDataType.Fp32, c, 4, 100));
    }

    [Theory]
    [InlineData(TensorDataType.Int8, 128)]
    [InlineData(TensorDataType.Int8, -129)]
    [InlineData(TensorDataType.Int16, 40000)]
    public void Narrow_signed_values_out_of_range_are_rejected(TensorDataType type, int value)
    {
        string? e = TypedContents.Validate("input 'x'", type, Make(c => c.IntContents.Add(value)), 1, 100);
        Assert.Contains($"value {value} at index 0 is outside the range of {type.WireName()}", e);
    }

    [Theory]
    [InlineData(TensorDataType.UInt8, 256u)]
    [InlineData(TensorDataType.UInt16, 70000u)]
    public void Narrow_unsigned_values_out_of_range_are_rejected(TensorDataType type, uint value) =>
        Assert.Contains("outside the range", TypedContents.Validate("input 'x'", type, Make(c => c.UintContents.Add(value)), 1, 100));

    [Theory]
    [InlineData(TensorDataType.Fp16)]
    [InlineData(TensorDataType.Bf16)]
    public void Sixteen_bit_floats_have_no_typed_form(TensorDataType type) =>
        Assert.Equal($"input 'x': datatype {type.WireName()} has no typed contents field; send it in raw_input_contents",
            TypedContents.Validate("input 'x'", type, Make(c => c.Fp32Contents.Add(1)), 1, 100));

    private static InferTensorContents Make(Action<InferTensorContents> fill)
    {
        var c = new InferTensorContents();
        fill(c);
        return c;
    }
}
