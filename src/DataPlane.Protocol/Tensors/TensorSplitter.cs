using System.Buffers;

namespace DataPlane.Protocol.Tensors;

/// <summary>Concatenation along dimension 0 (building a batch) and the inverse split (answering
/// each request with its own rows). Raw contents only: typed contents are converted at the edges.</summary>
public static class TensorSplitter
{
    /// <summary>Copies the raw contents of <paramref name="parts"/> back to back into one buffer
    /// rented from <see cref="ArrayPool{T}.Shared"/>. The caller returns <paramref name="rented"/>
    /// after the batch has been sent and answered.</summary>
    public static ReadOnlyMemory<byte> Concatenate(IReadOnlyList<ReadOnlyMemory<byte>> parts, out byte[] rented)
    {
        long total = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            total += parts[i].Length;
        }

        if (total > Array.MaxLength)
        {
            throw new InvalidOperationException($"batch tensor of {total} bytes exceeds the largest array");
        }

        rented = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        int pos = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            parts[i].Span.CopyTo(rented.AsSpan(pos));
            pos += parts[i].Length;
        }

        return new ReadOnlyMemory<byte>(rented, 0, pos);
    }

    /// <summary>Splits a batched output into consecutive row ranges of <paramref name="rows"/>
    /// without copying: each slice aliases <paramref name="output"/>'s buffer. Returns null when the
    /// output's leading dimension matches the sum of rows, otherwise a message.</summary>
    public static string? TrySplit(Tensor output, ReadOnlySpan<long> rows, Span<ReadOnlyMemory<byte>> slices)
    {
        long totalRows = 0;
        foreach (long r in rows)
        {
            totalRows += r;
        }

        if (output.Shape.Count == 0)
        {
            return $"output '{output.Name}' is a scalar and cannot be split across {rows.Length} requests";
        }

        if (output.Shape[0] != totalRows)
        {
            return $"output '{output.Name}' has batch dimension {output.Shape[0]} but the batch has {totalRows} rows";
        }

        long rowElements = TensorShape.RowElements(output.Shape);
        var raw = output.Raw;
        if (output.DataType == TensorDataType.Bytes)
        {
            var span = raw.Span;
            long element = 0;
            int offset = 0;
            for (int i = 0; i < rows.Length; i++)
            {
                long endElement = element + (rows[i] * rowElements);
                int end = BytesTensor.OffsetOf(span, endElement, element, offset);
                slices[i] = raw[offset..end];
                element = endElement;
                offset = end;
            }

            return null;
        }

        long rowBytes = rowElements * output.DataType.ElementSize();
        long start = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            long length = rows[i] * rowBytes;
            slices[i] = raw.Slice((int)start, (int)length);
            start += length;
        }

        return null;
    }
}
