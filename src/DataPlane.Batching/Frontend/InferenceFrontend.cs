using DataPlane.Batching.Frontend.Load;
using DataPlane.Batching.Streaming;
using DataPlane.Batching.Tracing;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Batching.Frontend;

/// <summary>The KServe v2 / Triton gRPC front end of the daemon: every RPC of Triton's
/// <c>GRPCInferenceService</c>, answered by <see cref="InferenceServer"/> (unary RPCs) or relayed per request by
/// <see cref="StreamRelay"/> (ModelStreamInfer). Errors are the statuses and texts Triton gives.</summary>
public sealed class InferenceFrontend : GRPCInferenceService.GRPCInferenceServiceBase
{
    private readonly InferenceServer _server;
    private readonly StreamRelay _relay;

    public InferenceFrontend(InferenceServer server, StreamRelay relay)
    {
        _server = server;
        _relay = relay;
    }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = _server.IsLive });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = _server.IsReady });

    /// <summary>ModelReady, with the model's load report in the <c>endpoint-load-metrics</c> trailer: the cheap probe
    /// load-aware callers use between requests.</summary>
    public override async Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var response = new ModelReadyResponse { Ready = await _server.ModelReadyAsync(request.Name, request.Version, context.Deadline, context.CancellationToken).ConfigureAwait(false) };
        LoadReport.AddTo(context, _server, request.Name);
        return response;
    }

    public override async Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = _server.ServerMetadata();
        await context.WriteResponseHeadersAsync(new Metadata { { ServerIdentity.Header, ServerIdentity.Value } }).ConfigureAwait(false);
        return response;
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(_server.ModelMetadata(request.Name, request.Version));

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(_server.ModelConfig(request.Name, request.Version));

    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context) =>
        Task.FromResult(_server.ModelStatistics(request.Name, request.Version));

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context) =>
        _server.RepositoryIndexAsync(request, context.Deadline, context.CancellationToken);

    public override Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context) =>
        _server.LoadModelAsync(request, context.Deadline, context.CancellationToken);

    public override Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context) =>
        _server.UnloadModelAsync(request, context.Deadline, context.CancellationToken);

    public override Task<SystemSharedMemoryStatusResponse> SystemSharedMemoryStatus(SystemSharedMemoryStatusRequest request, ServerCallContext context) =>
        Task.FromResult(_server.SystemSharedMemoryStatus(request.Name));

    public override Task<SystemSharedMemoryRegisterResponse> SystemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request, ServerCallContext context)
    {
        _server.SystemSharedMemoryRegister(request);
        return Task.FromResult(new SystemSharedMemoryRegisterResponse());
    }

    public override Task<SystemSharedMemoryUnregisterResponse> SystemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request, ServerCallContext context)
    {
        _server.SystemSharedMemoryUnregister(request.Name);
        return Task.FromResult(new SystemSharedMemoryUnregisterResponse());
    }

    public override Task<CudaSharedMemoryStatusResponse> CudaSharedMemoryStatus(CudaSharedMemoryStatusRequest request, ServerCallContext context) =>
        _server.CudaSharedMemoryStatusAsync(request, context.Deadline, context.CancellationToken);

    public override Task<CudaSharedMemoryRegisterResponse> CudaSharedMemoryRegister(CudaSharedMemoryRegisterRequest request, ServerCallContext context) =>
        _server.CudaSharedMemoryRegisterAsync(request, context.Deadline, context.CancellationToken);

    public override Task<CudaSharedMemoryUnregisterResponse> CudaSharedMemoryUnregister(CudaSharedMemoryUnregisterRequest request, ServerCallContext context) =>
        _server.CudaSharedMemoryUnregisterAsync(request, context.Deadline, context.CancellationToken);

    public override Task<TraceSettingResponse> TraceSetting(TraceSettingRequest request, ServerCallContext context) =>
        _server.TraceSettingAsync(request, context.Deadline, context.CancellationToken);

    public override Task<LogSettingsResponse> LogSettings(LogSettingsRequest request, ServerCallContext context) =>
        _server.LogSettingsAsync(request, context.Deadline, context.CancellationToken);

    /// <summary>ModelInfer; the answer (or the error) carries the model's load report in its trailers.</summary>
    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var span = DaemonTracing.StartGrpcServer("ModelInfer", context);
        span?.SetTag("dataplane.model", request.ModelName);
        var code = StatusCode.Unknown;
        string? detail = null;
        try
        {
            var response = await _server.InferAsync(request, context.Deadline, context.CancellationToken).ConfigureAwait(false);
            code = StatusCode.OK;
            return response;
        }
        catch (RpcException e) when (span != null)
        {
            (code, detail) = (e.StatusCode, e.Status.Detail);
            throw;
        }
        catch (OperationCanceledException e) when (span != null)
        {
            (code, detail) = (StatusCode.Cancelled, e.Message);
            throw;
        }
        finally
        {
            LoadReport.AddTo(context, _server, request.ModelName);
            if (span != null)
            {
                DaemonTracing.EndServer(span, code, detail);
            }
        }
    }

    /// <summary>ModelStreamInfer through the relay; the stream's trailers carry the load report of the last model it
    /// named.</summary>
    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var models = new ModelNoting(requestStream);
        try
        {
            await _relay.RunAsync(models, responseStream, context).ConfigureAwait(false);
        }
        finally
        {
            LoadReport.AddTo(context, _server, models.LastModel);
        }
    }

    /// <summary>Passes a stream's requests through, noting the model each one names.</summary>
    private sealed class ModelNoting(IAsyncStreamReader<ModelInferRequest> inner) : IAsyncStreamReader<ModelInferRequest>
    {
        public string? LastModel { get; private set; }

        public ModelInferRequest Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            bool more = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
            if (more)
            {
                LastModel = inner.Current.ModelName;
            }

            return more;
        }
    }
}
