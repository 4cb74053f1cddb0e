using DataPlane.Protocol.Inference;

namespace DataPlane.Batching.Upstream;

/// <summary>Peer hosts that take whole batches when this host's upstream is saturated (spillover). The peer runs a
/// batch through its own batcher and Triton and returns the outputs; the batcher splits them as if Triton here had
/// answered, so clients see one answer.</summary>
public interface ISpillTarget
{
    /// <summary>True when at least one peer is connected and healthy.</summary>
    bool IsAvailable { get; }

    /// <summary>Takes a spill slot (each peer bounds its batches in flight); false when none is free.
    /// A successful call must be followed by exactly one <see cref="InferAsync"/>, which releases the slot.</summary>
    bool TryAcquire();

    /// <summary>Sends one batch to the peer whose slot was taken and releases the slot when done. Throws
    /// <see cref="Grpc.Core.RpcException"/> (UNAVAILABLE when the peer is gone) on failure.</summary>
    Task<SpillResult> InferAsync(ModelInferRequest batch, DateTime? deadline, CancellationToken cancellationToken);
}

/// <summary>A batch's answer from a peer, and which peer answered (the label of the spill metrics).</summary>
public sealed record SpillResult(ModelInferResponse Response, string Peer);
