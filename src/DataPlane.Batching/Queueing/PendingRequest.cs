using System.Diagnostics;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.SharedMemory;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using DataPlane.Protocol.Tensors;
using Grpc.Core;

namespace DataPlane.Batching.Queueing;

/// <summary>One accepted ModelInfer request from admission until it is answered. Completion is
/// through a <see cref="TaskCompletionSource{T}"/> whose continuations run asynchronously, so the
/// thread that completes a batch never runs a caller's code. The first completion wins: a
/// cancellation and a batch result racing for the same request answer it exactly once.</summary>
public sealed class PendingRequest
{
    private readonly TaskCompletionSource<ModelInferResponse> _completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PendingRequest(ModelInferRequest message, Tensor[] inputs, long rows, long signature,
        int level, long arrivalNs, long deadlineNs, long grpcDeadlineNs, bool fromPeer = false)
    {
        FromPeer = fromPeer;
        GrpcDeadlineNs = grpcDeadlineNs;
        Message = message;
        Inputs = inputs;
        Rows = rows;
        Signature = signature;
        Level = level;
        ArrivalNs = arrivalNs;
        DeadlineNs = deadlineNs;
        foreach (var input in inputs)
        {
            Bytes += input.Raw.Length;
        }
    }

    /// <summary>The sequence the request belongs to (none for most requests). Sequence requests are never merged
    /// into a batch: they go upstream alone, one at a time per sequence, in arrival order.</summary>
    public SequenceKey Sequence { get; init; }

    /// <summary>True when the request goes upstream through its sequence's lane instead of the batch queue.</summary>
    public bool Sequenced { get; init; }

    /// <summary>The context of the request's span when tracing records it (default otherwise): its queue wait is
    /// recorded under it, and its batch links to it.</summary>
    public ActivityContext Trace { get; init; }

    /// <summary>Outputs to write into the client's shared-memory regions before answering, or null.</summary>
    public SharedMemoryOutputs? SharedMemoryOutputs { get; init; }

    /// <summary>The request's own deadline (gRPC deadline, <c>timeout</c> or model SLO) when <see cref="DeadlineNs"/> is
    /// the earlier queue-time bound (<see cref="Options.ModelBatchingOptions.MaxQueueTime"/>); long.MaxValue when none.
    /// Tells an expiry in the queue by the bound (Triton's "Request timeout expired") from one by the request's own
    /// deadline (DEADLINE_EXCEEDED).</summary>
    public long ClientDeadlineNs { get; init; } = long.MaxValue;

    /// <summary>True when the request expires in the queue by the queue-time bound rather than by its own deadline.</summary>
    public bool BoundByQueueTime => DeadlineNs < ClientDeadlineNs;

    /// <summary>Bytes of input data the request holds (counted against the model's queue byte budget).</summary>
    public long Bytes { get; }

    /// <summary>Set once the batcher has taken the request (so a later failure counts as a Triton "fail").</summary>
    public bool Admitted { get; internal set; }

    /// <summary>How the request's time split, set when its batch is answered.</summary>
    public RequestTimes Times { get; internal set; }

    /// <summary>When the request's batch left (was formed), and when the upstream answered it; set with
    /// <see cref="Times"/> when the batch is answered.</summary>
    public long DispatchedNs { get; internal set; }

    /// <inheritdoc cref="DispatchedNs"/>
    public long UpstreamAnsweredNs { get; internal set; }

    public ModelInferRequest Message { get; }

    /// <summary>A batch a peer host spilled here: it is never spilled again, so overloaded peers cannot bounce work
    /// between them.</summary>
    public bool FromPeer { get; }

    /// <summary>Set when a peer failed to run this request's spilled batch: it runs here from then on.</summary>
    public bool SpillFailed { get; set; }

    /// <summary>Whether a spill batch may take this request.</summary>
    public bool Spillable => !FromPeer && !SpillFailed;

    /// <summary>Validated inputs with raw contents (typed contents converted once at admission).</summary>
    public Tensor[] Inputs { get; }

    /// <summary>Rows this request adds to a batch: its leading dimension (1 for models without batching).</summary>
    public long Rows { get; }

    /// <summary>Hash of everything that must match for two requests to share a batch.</summary>
    public long Signature { get; }

    /// <summary>Priority level index, 0 = served first.</summary>
    public int Level { get; }

    public long ArrivalNs { get; }

    /// <summary>Deadline on the monotonic clock (gRPC deadline, model SLO or <c>timeout</c>, whichever is first).</summary>
    public long DeadlineNs { get; }

    /// <summary>The call's own gRPC deadline on the monotonic clock (bounds the upstream call).</summary>
    public long GrpcDeadlineNs { get; }

    public Task<ModelInferResponse> Completion => _completion.Task;

    public bool IsCompleted => _completion.Task.IsCompleted;

    // Intrusive links of the queue level the request waits in; touched only under the batcher's lock.
    internal PendingRequest? Prev { get; set; }

    internal PendingRequest? Next { get; set; }

    internal bool Queued { get; set; }

    public bool TrySucceed(ModelInferResponse response) => _completion.TrySetResult(response);

    public bool TryFail(StatusCode code, string message) =>
        _completion.TrySetException(new RpcException(new Status(code, message)));
}
