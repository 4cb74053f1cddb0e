using DataPlane.Protocol.Inference;

namespace DataPlane.Batching.Upstream;

/// <summary>Where batches go: Triton on this host (or the simulated Triton). The seam at which a
/// peer host can stand in for local Triton (spillover).</summary>
public interface IInferenceUpstream
{
    /// <summary>False while the upstream is known to be down; requests then fail fast.</summary>
    bool IsAvailable { get; }

    /// <summary>Human-readable address and last error, for UNAVAILABLE messages.</summary>
    string Describe();

    /// <summary>Sends one (batched) ModelInfer request. Throws <see cref="Grpc.Core.RpcException"/> on failure.</summary>
    Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime? deadline, CancellationToken cancellationToken);
}
