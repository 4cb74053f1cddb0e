using DataPlane.Protocol.Tensors;

namespace DataPlane.Simulation.Options;

/// <summary>A tensor a simulated model declares.</summary>
/// <param name="Name">Tensor name, e.g. INPUT0.</param>
/// <param name="DataType">Wire datatype.</param>
/// <param name="Dims">Dimensions without the batch dimension (when the model batches); -1 = any size.</param>
public sealed record SimulatedTensorOptions(string Name, TensorDataType DataType, IReadOnlyList<long> Dims)
{
    /// <summary>Inputs only: the request may leave the tensor out. Default false. Inputs that a
    /// tensor model's outputs are computed from cannot be optional.</summary>
    public bool Optional { get; init; }
}
