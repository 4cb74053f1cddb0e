using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;

namespace DataPlane.Host.Tests.Infrastructure;

/// <summary>Simulation options with a deliberately slow model, for queueing, deadline and priority tests.</summary>
public static class SlowModels
{
    /// <summary>The default models plus `slow`: INT32 [1] rows, max batch 8, one instance,
    /// <paramref name="baseMs"/> per batch.</summary>
    public static SimulationOptions With(double baseMs = 200)
    {
        var slow = SimulatedModelOptions.SingleTensor("slow", TensorDataType.Int32, 1) with
        {
            MaxBatchSize = 8,
            Instances = 1,
            BaseLatency = TimeSpan.FromMilliseconds(baseMs),
            PerItemLatency = TimeSpan.Zero,
        };
        return SimulationOptions.Default with { Models = [.. SimulationOptions.Default.Models, slow] };
    }

    public static DataPlane.Protocol.Inference.ModelInferRequest Request(int value, string id = "") =>
        Tensors.Raw("slow", TensorDataType.Int32, [1, 1], BitConverter.GetBytes(value), id);
}
