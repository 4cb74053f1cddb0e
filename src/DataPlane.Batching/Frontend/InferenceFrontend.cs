using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Queueing;
using DataPlane.Batching.Streaming;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using System.Diagnostics.CodeAnalysis;

namespace DataPlane.Batching.Frontend;

/// <summary>The KServe v2 / Triton gRPC front end of the daemon. ModelInfer requests are
/// validated (tensor framing, then against the model's declaration), admitted to the model's
/// batcher and answered from their share of the batch; ModelStreamInfer is relayed per request
/// (<see cref="StreamRelay"/>); metadata RPCs are answered from what the registry learnt from
/// the upstream. Bad input is INVALID_ARGUMENT with a message naming the field and numbers.</summary>
public sealed class InferenceFrontend : GRPCInferenceService.GRPCInferenceServiceBase
{
    private readonly ModelRegistry _registry;
    private readonly ServingState _state;
    private readonly StreamRelay _relay;
    private readonly Nanoseconds _clock;

    public InferenceFrontend(ModelRegistry registry, ServingState state, StreamRelay relay, TimeProvider? time = null)
    {
        _registry = registry;
        _state = state;
        _relay = relay;
        _clock = new Nanoseconds(time ?? TimeProvider.System);
    }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = !_state.Draining && _registry.Upstream.IsAvailable });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        bool ready = !_state.Draining && _registry.Upstream.IsAvailable &&
            _registry.TryGet(request.Name, out var b) && b.Model.ServesVersion(request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = ready });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = ServerInfo.Name, Version = ServerInfo.Version };
        response.Extensions.Add(ServerInfo.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(Find(request.Name, request.Version).Model.ToMetadata());

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = Find(request.Name, request.Version).EffectiveConfig });

    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        var response = new ModelStatisticsResponse();
        if (request.Name.Length == 0)
        {
            foreach (var b in _registry.Models.Values.OrderBy(b => b.Model.Name, StringComparer.Ordinal))
            {
                response.ModelStats.Add(b.Statistics.Snapshot(b.Model.Name, b.Model.Version));
            }
        }
        else
        {
            var b = Find(request.Name, request.Version);
            response.ModelStats.Add(b.Statistics.Snapshot(b.Model.Name, b.Model.Version));
        }

        return Task.FromResult(response);
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        var response = new RepositoryIndexResponse();
        bool up = _registry.Upstream.IsAvailable;
        foreach (var b in _registry.Models.Values.OrderBy(b => b.Model.Name, StringComparer.Ordinal))
        {
            if (request.Ready && !up)
            {
                continue;
            }

            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
            {
                Name = b.Model.Name,
                Version = b.Model.Version,
                State = up ? "READY" : "UNAVAILABLE",
                Reason = up ? "" : _registry.Upstream.Describe(),
            });
        }

        return Task.FromResult(response);
    }

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return InferAsync(request, context.Deadline, context.CancellationToken);
    }

    /// <summary>The ModelInfer path without a gRPC call around it: validation, admission to the model's batcher and the
    /// answer from its share of a batch. Peer hosts' spilled batches come in this way. Throws <see cref="RpcException"/>
    /// with the status a client would get. <paramref name="fromPeer"/> marks a batch a peer spilled here, which is never
    /// spilled on.</summary>
    public async Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime deadline, CancellationToken cancellationToken, bool fromPeer = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        long arrival = _clock.Now;
        var batcher = Resolve(request.ModelName, request.ModelVersion);
        var metrics = batcher.Metrics;
        metrics.Inflight.Inc();
        try
        {
            var pending = Admit(batcher, request, deadline, arrival, fromPeer);
            ModelInferResponse response;
            using (cancellationToken.UnsafeRegister(
                static (state, _) => ((CancelState)state!).Cancel(), new CancelState(batcher, pending, deadline)))
            {
                response = await batcher.Submit(pending).ConfigureAwait(false);
            }

            long elapsed = _clock.Now - arrival;
            metrics.Answered(Outcomes.Ok);
            metrics.RequestDuration.Observe(elapsed / 1e9);
            batcher.Statistics.RequestSucceeded(elapsed);
            return response;
        }
        catch (RpcException e)
        {
            long elapsed = _clock.Now - arrival;
            metrics.Answered(Outcomes.Of(e.StatusCode));
            metrics.RequestDuration.Observe(elapsed / 1e9);
            batcher.Statistics.RequestFailed(elapsed);
            throw;
        }
        finally
        {
            metrics.Inflight.Dec();
        }
    }

    public override Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context) =>
        _relay.RunAsync(requestStream, responseStream, context);

    private PendingRequest Admit(ModelBatcher batcher, ModelInferRequest request, DateTime callDeadline, long arrival, bool fromPeer)
    {
        var model = batcher.Model;
        if (model.Decoupled)
        {
            Reject(batcher, StatusCode.InvalidArgument,
                $"model '{model.Name}' is decoupled (it streams responses); call ModelStreamInfer instead of ModelInfer");
        }

        string? error = TensorReader.TryReadInputs(request, _registry.Options.Limits, out var inputs, out bool typed);
        if (error != null)
        {
            Reject(batcher, StatusCode.InvalidArgument, error);
        }

        var shapeProblem = model.Validate(request, inputs, out long rows);
        var levelProblem = batcher.TryGetLevel(request, out int level);
        var deadlineProblem = batcher.TryGetDeadline(request, callDeadline, arrival, out long grpcDeadline, out long deadline);
        if ((shapeProblem ?? levelProblem ?? deadlineProblem) is { } p)
        {
            Reject(batcher, p.Code, p.Message);
        }

        if (_state.Draining)
        {
            batcher.Metrics.Rejected(Outcomes.ShuttingDown);
            throw new RpcException(new Status(StatusCode.Unavailable, "dataplane is shutting down and accepts no new requests; retry on another host"));
        }

        if (!_registry.Upstream.IsAvailable)
        {
            batcher.Metrics.Rejected(Outcomes.UpstreamUnavailable);
            throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));
        }

        long signature = BatchSignature.Compute(request, model.Batches);
        return new PendingRequest(request, inputs, typed, rows, signature, level, arrival, deadline, grpcDeadline, fromPeer);
    }

    [DoesNotReturn]
    private static void Reject(ModelBatcher batcher, StatusCode code, string message)
    {
        batcher.Metrics.Rejected(Outcomes.Invalid);
        throw new RpcException(new Status(code, message));
    }

    /// <summary>The batcher of a model named in a request, or the right error: INVALID_ARGUMENT for
    /// no name, UNAVAILABLE while the upstream is down (its models are unknown), NOT_FOUND otherwise.</summary>
    private ModelBatcher Resolve(string name, string version)
    {
        if (name.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "model_name is empty"));
        }

        if (_registry.TryGet(name, out var batcher))
        {
            return batcher;
        }

        if (!_registry.Upstream.IsAvailable)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"upstream is unavailable: {_registry.Upstream.Describe()}"));
        }

        string known = _registry.Models.Count == 0 ? "none" : string.Join(", ", _registry.Models.Keys.Order(StringComparer.Ordinal));
        throw new RpcException(new Status(StatusCode.NotFound, $"model '{name}' is not served here; models: {known}"));
    }

    private ModelBatcher Find(string name, string version)
    {
        var batcher = Resolve(name, version);
        if (!batcher.Model.ServesVersion(version))
        {
            throw new RpcException(new Status(StatusCode.NotFound,
                $"model '{name}' has no version '{version}'; it serves version {batcher.Model.Version}"));
        }

        return batcher;
    }

    private sealed class CancelState(ModelBatcher batcher, PendingRequest request, DateTime deadline)
    {
        public void Cancel() => batcher.Cancel(request, deadline <= DateTime.UtcNow);
    }
}
