using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Bench.Tests;

public class RequestGeneratorTests
{
    private static ModelMetadataResponse AllTypes(bool batched)
    {
        var md = new ModelMetadataResponse { Name = "all" };
        foreach (var type in TensorDataTypes.All)
        {
            var t = new ModelMetadataResponse.Types.TensorMetadata { Name = "IN_" + type.WireName(), Datatype = type.WireName() };
            if (batched)
            {
                t.Shape.Add(-1);
            }

            t.Shape.Add(3);
            t.Shape.Add(-1);
            md.Inputs.Add(t);
        }

        return md;
    }

    [Fact]
    public void Every_datatype_gets_its_shape_and_byte_size()
    {
        var md = AllTypes(batched: true);
        Assert.True(RequestGenerator.IsBatched(md));
        var request = RequestGenerator.Create(md, "all", batch: 4, new Random(1));
        Assert.Equal("all", request.ModelName);
        Assert.Equal(TensorDataTypes.All.Count, request.Inputs.Count);
        Assert.Equal(request.Inputs.Count, request.RawInputContents.Count);
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            Assert.Equal(md.Inputs[i].Name, input.Name);
            Assert.Equal(md.Inputs[i].Datatype, input.Datatype);
            Assert.Null(input.Contents);
            Assert.Equal([4L, 3, 1], input.Shape);
            Assert.True(TensorDataTypes.TryParse(input.Datatype, out var type));
            var raw = request.RawInputContents[i].Span;
            if (type == TensorDataType.Bytes)
            {
                Assert.Null(BytesTensor.Validate(input.Name, raw, 12, 16));
                var elements = BytesTensor.Decode(raw);
                Assert.Equal(12, elements.Count);
                Assert.All(elements, e => Assert.InRange(e.Length, 1, 16));
                Assert.All(elements, e => Assert.Matches("^[a-z0-9]+$", e.ToStringUtf8()));
            }
            else
            {
                Assert.Equal(12 * type.ElementSize(), raw.Length);
            }
        }
    }

    [Fact]
    public void Numbers_are_small_and_finite()
    {
        var request = RequestGenerator.Create(AllTypes(batched: true), "all", batch: 50, new Random(3));
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            TensorDataTypes.TryParse(request.Inputs[i].Datatype, out var type);
            var raw = request.RawInputContents[i].Span;
            int size = type.ElementSize();
            for (int e = 0; size > 0 && e < raw.Length / size; e++)
            {
                var x = raw.Slice(e * size, size);
                double value = type switch
                {
                    TensorDataType.Bool => x[0],
                    TensorDataType.Int8 => (sbyte)x[0],
                    TensorDataType.UInt8 => x[0],
                    TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(x),
                    TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(x),
                    TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(x),
                    TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(x),
                    TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(x),
                    TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(x),
                    TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(x),
                    TensorDataType.Bf16 => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(x) << 16),
                    TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(x),
                    TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(x),
                    _ => throw new InvalidOperationException(),
                };
                Assert.True(double.IsFinite(value) && value >= 0 && value < 100, $"{type}: {value}");
                if (type == TensorDataType.Bool)
                {
                    Assert.InRange(value, 0, 1);
                }
                else if (type is TensorDataType.Fp16 or TensorDataType.Bf16 or TensorDataType.Fp32 or TensorDataType.Fp64)
                {
                    Assert.InRange(value, 0, 1);
                }
            }
        }
    }

    [Fact]
    public void A_model_without_a_leading_minus_one_ignores_the_batch_size()
    {
        var md = AllTypes(batched: false);
        Assert.False(RequestGenerator.IsBatched(md));
        var request = RequestGenerator.Create(md, "all", batch: 8, new Random(1));
        Assert.All(request.Inputs, i => Assert.Equal([3L, 1], i.Shape));
        Assert.Equal(3 * 4, request.RawInputContents[TensorDataTypes.All.ToList().IndexOf(TensorDataType.Fp32)].Length);
    }

    [Fact]
    public void The_pool_holds_distinct_requests_and_repeats_with_the_seed()
    {
        var md = ToyInferenceService.Metadata("toy");
        var pool = RequestGenerator.CreatePool(md, "toy", batch: 2, seed: 5);
        Assert.Equal(RequestGenerator.MaxPoolSize, pool.Count);
        Assert.Equal(pool.Count, pool.Select(r => r.RawInputContents[0].ToBase64()).Distinct().Count());
        var again = RequestGenerator.CreatePool(md, "toy", batch: 2, seed: 5);
        Assert.Equal(pool, again);
    }

    [Fact]
    public void A_large_input_shrinks_the_pool_to_its_byte_budget()
    {
        var md = new ModelMetadataResponse { Name = "big", Inputs = { new ModelMetadataResponse.Types.TensorMetadata { Name = "X", Datatype = "FP32", Shape = { -1, 1024, 1024 } } } };
        var pool = RequestGenerator.CreatePool(md, "big", batch: 4, seed: 1);
        Assert.Equal(4, pool.Count); // 16 MiB each, 64 MiB budget
    }

    [Fact]
    public void An_unknown_datatype_or_a_huge_shape_is_refused_with_the_input_name()
    {
        var odd = new ModelMetadataResponse { Inputs = { new ModelMetadataResponse.Types.TensorMetadata { Name = "Q", Datatype = "FP8", Shape = { -1, 2 } } } };
        var e = Assert.Throws<NotSupportedException>(() => RequestGenerator.Create(odd, "m", 1, new Random(1)));
        Assert.Contains("'Q'", e.Message, StringComparison.Ordinal);
        var huge = new ModelMetadataResponse { Inputs = { new ModelMetadataResponse.Types.TensorMetadata { Name = "H", Datatype = "FP32", Shape = { -1, 1 << 20, 1 << 20 } } } };
        e = Assert.Throws<NotSupportedException>(() => RequestGenerator.Create(huge, "m", 1, new Random(1)));
        Assert.Contains("'H'", e.Message, StringComparison.Ordinal);
    }
}
