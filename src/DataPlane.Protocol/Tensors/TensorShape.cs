namespace DataPlane.Protocol.Tensors;

/// <summary>Shape arithmetic with the checks the protocol needs: no negative dimensions,
/// no overflow, element counts within limits.</summary>
public static class TensorShape
{
    /// <summary>Computes the element count of <paramref name="shape"/>. Returns null when valid,
    /// otherwise a message naming <paramref name="what"/> (e.g. "input 'INPUT0'") and the numbers.</summary>
    /// <typeparam name="TLabel">A string, or a value that formats the name only when a message is written.</typeparam>
    public static string? TryElementCount<TLabel>(TLabel what, IReadOnlyList<long> shape, long maxElements, out long count)
    {
        count = 1;
        for (int i = 0; i < shape.Count; i++)
        {
            long d = shape[i];
            if (d < 0)
            {
                count = 0;
                return $"{what}: shape {Format(shape)} has negative dimension {d} at index {i}";
            }

            if (d != 0 && count > long.MaxValue / d)
            {
                count = 0;
                return $"{what}: shape {Format(shape)} has too many elements to count (more than the limit of {maxElements})";
            }

            count *= d;
        }

        if (count > maxElements)
        {
            return $"{what}: shape {Format(shape)} has {count} elements, more than the limit of {maxElements}";
        }

        return null;
    }

    /// <summary>Product of the dimensions after the first (elements per row of a batched tensor).
    /// The shape must have been validated.</summary>
    public static long RowElements(IReadOnlyList<long> shape)
    {
        long n = 1;
        for (int i = 1; i < shape.Count; i++)
        {
            n *= shape[i];
        }

        return n;
    }

    /// <summary>True when both shapes have the same rank and the same dimensions after the first.</summary>
    public static bool SameRowShape(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 1; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks a request shape against a model's declared dims (-1 = any size).</summary>
    public static bool Matches(IReadOnlyList<long> shape, int offset, IReadOnlyList<long> declared)
    {
        if (shape.Count - offset != declared.Count)
        {
            return false;
        }

        for (int i = 0; i < declared.Count; i++)
        {
            if (declared[i] != -1 && declared[i] != shape[i + offset])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats a shape as [d0,d1,…].</summary>
    public static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
