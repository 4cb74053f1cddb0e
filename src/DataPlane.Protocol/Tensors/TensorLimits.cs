namespace DataPlane.Protocol.Tensors;

/// <summary>Size limits applied to every tensor DataPlane accepts or receives. Defaults suit
/// LLM prompts and image batches; raise them in configuration for larger tensors.</summary>
public sealed record TensorLimits
{
    /// <summary>Most tensors in one request or response. Default 64.</summary>
    public int MaxTensors { get; init; } = 64;

    /// <summary>Most elements in one tensor. Default 2^31 − 1 (a tensor of one-byte elements as large as Triton's
    /// largest message).</summary>
    public long MaxElementsPerTensor { get; init; } = int.MaxValue;

    /// <summary>Most bytes of one tensor's raw contents. Default 2 GiB − 1, Triton's message limit.</summary>
    public long MaxBytesPerTensor { get; init; } = int.MaxValue;

    /// <summary>Longest single BYTES element. Default 16 MiB.</summary>
    public long MaxBytesElementLength { get; init; } = 16L << 20;

    /// <summary>The defaults.</summary>
    public static TensorLimits Default { get; } = new();
}
