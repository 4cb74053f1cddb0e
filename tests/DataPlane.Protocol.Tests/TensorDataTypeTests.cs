using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Protocol.Tests;

public class TensorDataTypeTests
{
    [Fact]
    public void Every_datatype_round_trips_through_its_wire_name_and_config_enum()
    {
        Assert.Equal(14, TensorDataTypes.All.Count);
        foreach (var t in TensorDataTypes.All)
        {
            Assert.True(TensorDataTypes.TryParse(t.WireName(), out var parsed));
            Assert.Equal(t, parsed);
            Assert.Equal(t, TensorDataTypes.FromConfig(t.ToConfig()));
        }
    }

    [Theory]
    [InlineData("BOOL", 1)]
    [InlineData("UINT8", 1)]
    [InlineData("UINT16", 2)]
    [InlineData("UINT32", 4)]
    [InlineData("UINT64", 8)]
    [InlineData("INT8", 1)]
    [InlineData("INT16", 2)]
    [InlineData("INT32", 4)]
    [InlineData("INT64", 8)]
    [InlineData("FP16", 2)]
    [InlineData("BF16", 2)]
    [InlineData("FP32", 4)]
    [InlineData("FP64", 8)]
    [InlineData("BYTES", 0)]
    public void Element_sizes_match_the_protocol_table(string name, int size)
    {
        Assert.True(TensorDataTypes.TryParse(name, out var t));
        Assert.Equal(size, t.ElementSize());
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("FLOAT32")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("STRING")]
    public void Unknown_or_miscased_names_are_rejected(string? name) =>
        Assert.False(TensorDataTypes.TryParse(name, out _));

    [Fact]
    public void Triton_string_type_maps_to_bytes_and_16_bit_floats_have_no_typed_field()
    {
        Assert.Equal(TensorDataType.Bytes, TensorDataTypes.FromConfig(DataType.TypeString));
        Assert.False(TensorDataType.Fp16.HasTypedContents());
        Assert.False(TensorDataType.Bf16.HasTypedContents());
        Assert.True(TensorDataType.Bytes.HasTypedContents());
    }
}
