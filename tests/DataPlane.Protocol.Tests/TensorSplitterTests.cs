using DataPlane.Protocol.Tensors;
using Google.Protobuf.Collections;

namespace DataPlane.Protocol.Tests;

public class TensorSplitterTests
{
    private static Tensor Make(TensorDataType type, long[] shape, byte[] raw)
    {
        var s = new RepeatedField<long> { shape };
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return new Tensor("OUT", type, s, count, raw);
    }

    [Fact]
    public void Random_batches_split_back_into_exactly_their_parts()
    {
        var random = new Random(1234);
        var types = TensorDataTypes.All;
        for (int round = 0; round < 300; round++)
        {
            var type = types[random.Next(types.Count)];
            long[] rowShape = [.. Enumerable.Range(0, random.Next(0, 3)).Select(_ => (long)random.Next(1, 4))];
            long rowElements = rowShape.Aggregate(1L, (a, b) => a * b);
            int parts = random.Next(1, 8);
            var rows = new long[parts];
            var payloads = new List<ReadOnlyMemory<byte>>();
            for (int p = 0; p < parts; p++)
            {
                rows[p] = random.Next(1, 5);
                payloads.Add(RandomPayload(random, type, rows[p] * rowElements));
            }

            var joined = TensorSplitter.Concatenate(payloads, out byte[] rented);
            var batch = Make(type, [rows.Sum(), .. rowShape], joined.ToArray());
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);

            var slices = new ReadOnlyMemory<byte>[parts];
            Assert.Null(TensorSplitter.TrySplit(batch, rows, slices));
            for (int p = 0; p < parts; p++)
            {
                Assert.Equal(payloads[p].ToArray(), slices[p].ToArray());
            }
        }
    }

    [Fact]
    public void Slices_alias_the_batch_buffer()
    {
        byte[] raw = [1, 2, 3, 4, 5, 6];
        var slices = new ReadOnlyMemory<byte>[2];
        Assert.Null(TensorSplitter.TrySplit(Make(TensorDataType.UInt8, [3, 2], raw), [1, 2], slices));
        Assert.True(slices[1].Span.Overlaps(raw));
        Assert.Equal(new byte[] { 3, 4, 5, 6 }, slices[1].ToArray());
    }

    [Fact]
    public void Batch_dimension_mismatch_and_scalars_are_reported()
    {
        var slices = new ReadOnlyMemory<byte>[2];
        Assert.Equal("output 'OUT' has batch dimension 3 but the batch has 4 rows",
            TensorSplitter.TrySplit(Make(TensorDataType.UInt8, [3], [1, 2, 3]), [2, 2], slices));
        Assert.Equal("output 'OUT' is a scalar and cannot be split across 2 requests",
            TensorSplitter.TrySplit(Make(TensorDataType.UInt8, [], [1]), [1, 1], slices));
    }

    private static byte[] RandomPayload(Random random, TensorDataType type, long elements)
    {
        if (type == TensorDataType.Bytes)
        {
            return BytesTensor.Encode(Enumerable.Range(0, (int)elements)
                .Select(_ => new string((char)random.Next('a', 'z'), random.Next(0, 6))).ToArray());
        }

        var b = new byte[elements * type.ElementSize()];
        random.NextBytes(b);
        if (type == TensorDataType.Bool)
        {
            for (int i = 0; i < b.Length; i++)
            {
                b[i] &= 1;
            }
        }

        return b;
    }
}
