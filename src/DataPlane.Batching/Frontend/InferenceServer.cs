using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Queueing;
using DataPlane.Batching.SharedMemory;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using DataPlane.Protocol.Serving;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace DataPlane.Batching.Frontend;

/// <summary>The daemon's front end without a protocol around it: everything the gRPC front end
/// (<see cref="InferenceFrontend"/>) and the HTTP/REST front end serve, with Triton's semantics and
/// error texts. Errors are <see cref="RpcException"/>s carrying the gRPC status a Triton client would get;
/// the HTTP front end maps them to Triton's HTTP codes (<see cref="HttpStatusOf"/>).
/// <para>Inference requests are validated, admitted to their model's batcher (or, for sequences, to its
/// sequence lane) and answered from their share of a batch. Metadata comes from what the registry learnt
/// from the upstream; model control, trace and log settings and CUDA shared memory are forwarded to the
/// upstream; system shared memory belongs to the daemon (<see cref="SharedMemoryRegions"/>).</para></summary>
public sealed class InferenceServer
{
    private readonly ModelRegistry _registry;
    private readonly ServingState _state;
    private readonly Nanoseconds _clock;

    public InferenceServer(ModelRegistry registry, ServingState state, SharedMemoryRegions sharedMemory, FrontendOptions options,
        TimeProvider? time = null)
    {
        _registry = registry;
        _state = state;
        SharedMemory = sharedMemory;
        Options = options;
        _clock = new Nanoseconds(time ?? TimeProvider.System);
    }

    public ModelRegistry Registry => _registry;

    public FrontendOptions Options { get; }

    /// <summary>The system shared-memory regions clients registered here.</summary>
    public SharedMemoryRegions SharedMemory { get; }

    public bool IsLive => true;

    public bool IsReady => !_state.Draining && _registry.Upstream.IsAvailable;

    /// <summary>ModelReady: a served model is ready while the upstream is and the daemon is not draining; a model
    /// the daemon does not serve is asked of the upstream, so its answer (false, or NOT_FOUND in newer Triton) is
    /// the upstream's own.</summary>
    public async Task<bool> ModelReadyAsync(string name, string version, DateTime deadline, CancellationToken cancellationToken)
    {
        CheckVersion(version);
        if (_registry.TryGet(name, out var batcher))
        {
            return IsReady && batcher.Model.ServesVersion(version);
        }

        if (!_registry.Upstream.IsAvailable)
        {
            return false;
        }

        var answer = await Forward(c => c.ModelReadyAsync(new ModelReadyRequest { Name = name, Version = version },
            deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        return answer.Ready;
    }

    /// <summary>The upstream's identity (name, version, extensions), so clients see Triton's.</summary>
    public ServerMetadataResponse ServerMetadata() =>
        _registry.ServerMetadata?.Clone() ??
        throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));

    public ModelMetadataResponse ModelMetadata(string name, string version) => Find(name, version).Model.ToMetadata(version);

    public ModelConfigResponse ModelConfig(string name, string version) =>
        new() { Config = Find(name, version).EffectiveConfig };

    /// <summary>ModelStatistics with Triton's semantics; an empty name means every model, sorted by name.</summary>
    public ModelStatisticsResponse ModelStatistics(string name, string version)
    {
        var response = new ModelStatisticsResponse();
        if (name.Length == 0)
        {
            foreach (var b in _registry.Models.Values.OrderBy(b => b.Model.Name, StringComparer.Ordinal))
            {
                response.ModelStats.Add(b.Statistics.Snapshot(b.Model.Name, b.Model.Version));
            }

            return response;
        }

        if (!_registry.TryGet(name, out var batcher))
        {
            throw TritonErrors.StatisticsModelUnavailable(name).ToException();
        }

        if (TritonErrors.TryParseVersion(version, out _) != null || !batcher.Model.ServesVersion(version))
        {
            throw TritonErrors.StatisticsVersionUnavailable(name).ToException();
        }

        response.ModelStats.Add(batcher.Statistics.Snapshot(batcher.Model.Name, batcher.Model.Version));
        return response;
    }

    /// <summary>RepositoryIndex: the upstream's own index (every model in its repository, loaded or not, sorted by
    /// name). While the upstream is down, the models the daemon knows, marked UNAVAILABLE.</summary>
    public async Task<RepositoryIndexResponse> RepositoryIndexAsync(RepositoryIndexRequest request, DateTime deadline,
        CancellationToken cancellationToken)
    {
        if (_registry.Upstream.IsAvailable)
        {
            return await Forward(c => c.RepositoryIndexAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken)
                .ResponseAsync).ConfigureAwait(false);
        }

        var response = new RepositoryIndexResponse();
        if (!request.Ready)
        {
            foreach (var b in _registry.Models.Values.OrderBy(b => b.Model.Name, StringComparer.Ordinal))
            {
                response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
                {
                    Name = b.Model.Name,
                    Version = b.Model.Version,
                    State = "UNAVAILABLE",
                    Reason = _registry.Upstream.Describe(),
                });
            }
        }

        return response;
    }

    /// <summary>Loads a model upstream (explicit model control), then re-reads the repository at once so the
    /// model is served here when the call returns.</summary>
    public async Task<RepositoryModelLoadResponse> LoadModelAsync(RepositoryModelLoadRequest request, DateTime deadline,
        CancellationToken cancellationToken)
    {
        var response = await Forward(c => c.RepositoryModelLoadAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken)
            .ResponseAsync).ConfigureAwait(false);
        await _registry.RefreshNowAsync(request.ModelName, cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>Unloads a model upstream, then re-reads the repository at once: the model's batcher stops
    /// admitting, sends what it holds and is retired.</summary>
    public async Task<RepositoryModelUnloadResponse> UnloadModelAsync(RepositoryModelUnloadRequest request, DateTime deadline,
        CancellationToken cancellationToken)
    {
        var response = await Forward(c => c.RepositoryModelUnloadAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken)
            .ResponseAsync).ConfigureAwait(false);
        await _registry.RefreshNowAsync(null, cancellationToken).ConfigureAwait(false);
        return response;
    }

    public SystemSharedMemoryStatusResponse SystemSharedMemoryStatus(string name) => SharedMemory.Status(name);

    public void SystemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request)
    {
        RequireClientShm();
        SharedMemory.Register(request.Name, request.Key, request.Offset, request.ByteSize);
    }

    public void SystemSharedMemoryUnregister(string name)
    {
        RequireClientShm();
        SharedMemory.Unregister(name);
    }

    /// <summary>CUDA shared memory lives in the upstream's GPUs: status and registrations are the upstream's.</summary>
    public Task<CudaSharedMemoryStatusResponse> CudaSharedMemoryStatusAsync(CudaSharedMemoryStatusRequest request, DateTime deadline,
        CancellationToken cancellationToken) =>
        Forward(c => c.CudaSharedMemoryStatusAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync);

    public Task<CudaSharedMemoryRegisterResponse> CudaSharedMemoryRegisterAsync(CudaSharedMemoryRegisterRequest request, DateTime deadline,
        CancellationToken cancellationToken)
    {
        RequireClientShm();
        return Forward(c => c.CudaSharedMemoryRegisterAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync);
    }

    public Task<CudaSharedMemoryUnregisterResponse> CudaSharedMemoryUnregisterAsync(CudaSharedMemoryUnregisterRequest request, DateTime deadline,
        CancellationToken cancellationToken)
    {
        RequireClientShm();
        return Forward(c => c.CudaSharedMemoryUnregisterAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync);
    }

    public Task<TraceSettingResponse> TraceSettingAsync(TraceSettingRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        Forward(c => c.TraceSettingAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync);

    public Task<LogSettingsResponse> LogSettingsAsync(LogSettingsRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        Forward(c => c.LogSettingsAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken).ResponseAsync);

    /// <summary>ModelInfer: validation, admission to the model's batcher and the answer from its share of a batch.
    /// Peer hosts' spilled batches come in this way too (<paramref name="fromPeer"/>: never spilled on).</summary>
    public async Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime deadline, CancellationToken cancellationToken,
        bool fromPeer = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        long handlerStart = Stopwatch.GetTimestamp();
        long arrival = _clock.Now;
        var batcher = Resolve(request.ModelName, request.ModelVersion);
        var metrics = batcher.Metrics;
        metrics.Inflight.Inc();
        PendingRequest? pending = null;
        try
        {
            pending = Admit(batcher, request, deadline, arrival, fromPeer);
            long admitted = _clock.Now;
            ModelInferResponse response;
            using (cancellationToken.UnsafeRegister(
                static (state, _) => ((CancelState)state!).Cancel(), new CancelState(batcher, pending, deadline)))
            {
                response = await batcher.Submit(pending).ConfigureAwait(false);
            }

            long answered = _clock.Now;
            long elapsed = answered - arrival;
            metrics.Answered(Outcomes.Ok);
            metrics.RequestDuration.Observe(elapsed / 1e9);
            batcher.Statistics.RequestSucceeded(pending.Rows, elapsed, pending.Times);
            ObserveStages(metrics, request, pending, handlerStart, arrival, admitted, answered);
            return response;
        }
        catch (RpcException e)
        {
            long elapsed = _clock.Now - arrival;
            metrics.Answered(Outcomes.Of(e.StatusCode));
            metrics.RequestDuration.Observe(elapsed / 1e9);
            if (pending is { Admitted: true })
            {
                batcher.Statistics.RequestFailed(elapsed);
            }

            throw;
        }
        finally
        {
            pending?.SharedMemoryOutputs?.Dispose();
            metrics.Inflight.Dec();
        }
    }

    /// <summary>Records where a successful request's time went (<c>dataplane_request_stage_seconds</c>). Decode and
    /// dispatch only for requests read from gRPC by <see cref="InferMarshallers"/>; they are on the
    /// <see cref="Stopwatch"/>, the others on the server's clock.</summary>
    private static void ObserveStages(BatchingMetrics.ModelMetrics metrics, ModelInferRequest request, PendingRequest pending,
        long handlerStart, long arrival, long admitted, long answered)
    {
        if (request.DecodeEndTimestamp != 0)
        {
            metrics.StageDecode.Observe(Stopwatch.GetElapsedTime(request.DecodeStartTimestamp, request.DecodeEndTimestamp).TotalSeconds);
            metrics.StageDispatch.Observe(Math.Max(0, Stopwatch.GetElapsedTime(request.DecodeEndTimestamp, handlerStart).TotalSeconds));
        }

        metrics.StageValidate.Observe((admitted - arrival) / 1e9);
        if (pending.UpstreamAnsweredNs != 0)
        {
            metrics.StageQueue.Observe(Math.Max(0, pending.DispatchedNs - admitted) / 1e9);
            metrics.StageUpstream.Observe(Math.Max(0, pending.UpstreamAnsweredNs - pending.DispatchedNs) / 1e9);
            metrics.StageReply.Observe(Math.Max(0, answered - pending.UpstreamAnsweredNs) / 1e9);
        }
    }

    private PendingRequest Admit(ModelBatcher batcher, ModelInferRequest request, DateTime callDeadline, long arrival, bool fromPeer)
    {
        var model = batcher.Model;
        if (model.Decoupled)
        {
            Reject(batcher, StatusCode.Unimplemented, TritonErrors.DecoupledModelInfer);
        }

        var readProblem = TensorReader.TryReadInputs(request, _registry.Options.Limits, SharedMemory, out var inputs, out _);
        if (readProblem is { } r)
        {
            Reject(batcher, r.Code, r.Message);
        }

        var shapeProblem = model.Validate(request, inputs, out long rows);
        var levelProblem = batcher.TryGetLevel(request, out int level);
        var deadlineProblem = batcher.TryGetDeadline(request, callDeadline, arrival, out long grpcDeadline, out long deadline);
        var sequenceProblem = SequenceKey.TryParse(request.Parameters, out var sequence);
        if ((shapeProblem ?? levelProblem ?? deadlineProblem ?? sequenceProblem) is { } p)
        {
            Reject(batcher, p.Code, p.Message);
        }

        if (_state.Draining)
        {
            batcher.Metrics.Rejected(Outcomes.ShuttingDown);
            throw new RpcException(new Status(StatusCode.Unavailable, "GRPC server is shutting down and has stopped accepting new requests."));
        }

        if (!_registry.Upstream.IsAvailable)
        {
            batcher.Metrics.Rejected(Outcomes.UpstreamUnavailable);
            throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));
        }

        if (SharedMemoryOutputs.TryResolve(request, SharedMemory, out var shmOutputs) is { } shmProblem)
        {
            Reject(batcher, shmProblem.Code, shmProblem.Message);
        }

        // Inputs read out of shared memory travel upstream as raw bytes: Triton needs no registration of its own.
        var message = shmOutputs != null || TensorReader.UsesSharedMemory(request) ? SharedMemoryOutputs.ToRawRequest(request, inputs) : request;
        long signature = BatchSignature.Compute(message, model.Batches);
        bool sequenced = model.Sequential || sequence.IsSequence;

        // The batch queue also bounds how long a request waits when its own deadline allows more (MaxQueueTime);
        // sequence steps wait for their predecessors instead and keep only their own deadline.
        long maxQueue = Nanoseconds.From(batcher.Options.MaxQueueTime);
        long queueDeadline = !sequenced && maxQueue > 0 ? Math.Min(deadline, arrival + maxQueue) : deadline;
        return new PendingRequest(message, inputs, rows, signature, level, arrival, queueDeadline, grpcDeadline, fromPeer)
        {
            ClientDeadlineNs = deadline,
            Trace = Tracing.DaemonTracing.CurrentContext,
            Sequence = sequence,
            Sequenced = sequenced,
            SharedMemoryOutputs = shmOutputs,
        };
    }

    [DoesNotReturn]
    private static void Reject(ModelBatcher batcher, StatusCode code, string message)
    {
        batcher.Metrics.Rejected(Outcomes.Invalid);
        batcher.Statistics.RequestRejected();
        throw new RpcException(new Status(code, message));
    }

    /// <summary>The batcher of a model named in a request, or Triton's error: NOT_FOUND for an unknown model,
    /// UNAVAILABLE while the upstream is down (its models are unknown).</summary>
    public ModelBatcher Resolve(string name, string version)
    {
        if (_registry.TryGet(name, out var batcher))
        {
            CheckVersion(version);
            return batcher;
        }

        throw _registry.NotServed(name);
    }

    private ModelBatcher Find(string name, string version)
    {
        var batcher = Resolve(name, version);
        if (!batcher.Model.ServesVersion(version))
        {
            throw TritonErrors.UnknownVersion(name, version);
        }

        return batcher;
    }

    private static void CheckVersion(string version)
    {
        if (TritonErrors.TryParseVersion(version, out _) is { } bad)
        {
            throw bad.ToException();
        }
    }

    private void RequireClientShm()
    {
        if (!Options.AllowClientSharedMemory)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, TritonErrors.ClientShmDisabled));
        }
    }

    /// <summary>Calls the upstream; a connection failure marks it down and answers UNAVAILABLE naming it, any other
    /// error is the upstream's own status and message, verbatim.</summary>
    private async Task<T> Forward<T>(Func<GRPCInferenceService.GRPCInferenceServiceClient, Task<T>> call)
    {
        if (!_registry.Upstream.IsAvailable)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));
        }

        try
        {
            return await call(_registry.Upstream.Client).ConfigureAwait(false);
        }
        catch (RpcException e) when (TritonUpstream.IsTransportFailure(e))
        {
            _registry.Upstream.MarkDown(e.Status.Detail);
            throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));
        }
    }

    /// <summary>Deadline of a forwarded call: the caller's, or the upstream probe timeout's multiple when it has none.</summary>
    private DateTime? Deadline(DateTime deadline) =>
        deadline == DateTime.MaxValue ? DateTime.UtcNow + _registry.Upstream.Options.RequestTimeout : deadline;

    /// <summary>Triton's HTTP status for a gRPC status code (Triton's own mapping, plus the codes only DataPlane uses).</summary>
    public static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.NotFound => 404,
        StatusCode.Internal => 500,
        StatusCode.Unavailable => 503,
        StatusCode.Unimplemented => 501,
        StatusCode.ResourceExhausted => 429,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.PermissionDenied => 403,
        StatusCode.Unauthenticated => 401,
        _ => 400, // UNKNOWN, INVALID_ARGUMENT, ALREADY_EXISTS, CANCELLED, FAILED_PRECONDITION, ...
    };

    private sealed class CancelState(ModelBatcher batcher, PendingRequest request, DateTime deadline)
    {
        public void Cancel() => batcher.Cancel(request, deadline <= DateTime.UtcNow);
    }
}

/// <summary>Settings of the front ends that are not per model.</summary>
public sealed record FrontendOptions
{
    /// <summary>Clients may register and unregister shared-memory regions (Triton's <c>--allow-client-shm</c>,
    /// off by default since Triton 2.68). Status calls are answered either way. Default false.</summary>
    public bool AllowClientSharedMemory { get; init; }

    /// <summary>Most bytes of an HTTP request's JSON, of each input given as JSON <c>data</c>, of a raw binary request
    /// and of a decompressed body (Triton's <c>--http-max-input-size</c>); binary tensor data is bounded only by the
    /// message limit. Default 64 MiB, Triton's.</summary>
    public long HttpMaxInputBytes { get; init; } = 64L << 20;
}
