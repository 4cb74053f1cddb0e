using Google.Protobuf.Collections;

namespace DataPlane.Protocol.Tensors;

/// <summary>A validated tensor with its contents in raw little-endian form.
/// <see cref="Raw"/> aliases the request's or response's buffer where it arrived raw.</summary>
public sealed class Tensor
{
    public Tensor(string name, TensorDataType dataType, RepeatedField<long> shape, long elementCount, ReadOnlyMemory<byte> raw)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        ElementCount = elementCount;
        Raw = raw;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    /// <summary>The shape as it arrived (not copied; do not modify).</summary>
    public RepeatedField<long> Shape { get; }

    public long ElementCount { get; }

    public ReadOnlyMemory<byte> Raw { get; }

    /// <summary>Leading dimension, or 1 for a scalar-shaped tensor.</summary>
    public long BatchDim => Shape.Count == 0 ? 1 : Shape[0];
}
