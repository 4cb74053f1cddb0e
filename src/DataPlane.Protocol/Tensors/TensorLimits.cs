namespace DataPlane.Protocol.Tensors;

/// <summary>Size limits applied to every tensor DataPlane accepts or receives. Defaults suit
/// LLM prompts and image batches; raise them in configuration for larger tensors.</summary>
public sealed record TensorLimits
{
    /// <summary>Most tensors in one request or response. Default 64.</summary>
    public int MaxTensors { get; init; } = 64;

    /// <summary>Most elements in one tensor. Default 2^28.</summary>
    public long MaxElementsPerTensor { get; init; } = 1L << 28;

    /// <summary>Most bytes of one tensor's raw contents. Default 256 MiB; never above 2 GiB − 1.</summary>
    public long MaxBytesPerTensor { get; init; } = 256L << 20;

    /// <summary>Longest single BYTES element. Default 16 MiB.</summary>
    public long MaxBytesElementLength { get; init; } = 16L << 20;

    /// <summary>The defaults.</summary>
    public static TensorLimits Default { get; } = new();
}
