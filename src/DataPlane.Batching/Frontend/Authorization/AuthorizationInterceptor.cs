using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Grpc.Core.Interceptors;

namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>Per-client authorization of every gRPC call, installed only while authorization is on. Each request
/// message is mapped to its operation group and model (<see cref="Classify"/>); a call the caller is not granted is
/// answered PERMISSION_DENIED before it reaches the front end, and RepositoryIndex and all-models ModelStatistics
/// answers keep only the models the caller sees. ModelStreamInfer passes here and each streamed request is checked by
/// the stream relay (its refusal is an in-stream error, as Triton's per-request errors are). Anything this table does
/// not know is refused: a new RPC stays closed until it is classified.</summary>
public sealed class AuthorizationInterceptor(ClientAuthorizer authorizer) : Interceptor
{
    private static readonly string s_streamInfer = $"/{GRPCInferenceService.Descriptor.FullName}/ModelStreamInfer";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var caller = authorizer.Identify(context.GetHttpContext());
        try
        {
            Demand(caller, request, context.Method);
        }
        catch (RpcException e)
        {
            return Task.FromException<TResponse>(e);
        }

        // Only the answers that list models are filtered; everything else goes straight through.
        return request is RepositoryIndexRequest or ModelStatisticsRequest && !caller.Grant.Models.MatchesAll
            ? FilteredAsync(caller, continuation(request, context))
            : continuation(request, context);
    }

    private static async Task<TResponse> FilteredAsync<TResponse>(Caller caller, Task<TResponse> call)
    {
        var response = await call.ConfigureAwait(false);
        caller.Filter(response);
        return response;
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        Demand(authorizer.Identify(context.GetHttpContext()), request, context.Method);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (context.Method != s_streamInfer)
        {
            throw Unclassified(authorizer.Identify(context.GetHttpContext()), context.Method);
        }

        return continuation(requestStream, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        throw Unclassified(authorizer.Identify(context.GetHttpContext()), context.Method);
    }

    private static void Demand(Caller caller, object? request, string method)
    {
        if (!Classify(request, out var operation, out string? model))
        {
            throw Unclassified(caller, method);
        }

        caller.Demand(operation, model);
    }

    private static RpcException Unclassified(Caller caller, string method) =>
        new(new Status(StatusCode.PermissionDenied, $"client '{DataPlane.Protocol.TritonErrors.Echo(caller.Identity)}' may not call {method}: it is not an operation DataPlane authorizes"));

    /// <summary>The operation group and model of a request message; false for a message no group covers.</summary>
    public static bool Classify(object? request, out ClientOperations operation, out string? model)
    {
        model = null;
        operation = ClientOperations.None;
        switch (request)
        {
            case ServerLiveRequest or ServerReadyRequest or HealthCheckRequest:
                return true;
            case ModelInferRequest r:
                (operation, model) = (ClientOperations.Inference, r.ModelName);
                return true;
            case ServerMetadataRequest or RepositoryIndexRequest:
                operation = ClientOperations.Metadata;
                return true;
            case ModelMetadataRequest r:
                (operation, model) = (ClientOperations.Metadata, r.Name);
                return true;
            case ModelConfigRequest r:
                (operation, model) = (ClientOperations.Metadata, r.Name);
                return true;
            case ModelReadyRequest r:
                (operation, model) = (ClientOperations.Metadata, r.Name);
                return true;
            case ModelStatisticsRequest r:
                // Every model (an empty name): allowed, and the answer is filtered to the models the caller sees.
                (operation, model) = (ClientOperations.Statistics, r.Name.Length > 0 ? r.Name : null);
                return true;
            case RepositoryModelLoadRequest r:
                (operation, model) = (ClientOperations.Control, r.ModelName);
                return true;
            case RepositoryModelUnloadRequest r:
                (operation, model) = (ClientOperations.Control, r.ModelName);
                return true;
            case SystemSharedMemoryStatusRequest or SystemSharedMemoryRegisterRequest or SystemSharedMemoryUnregisterRequest
                or CudaSharedMemoryStatusRequest or CudaSharedMemoryRegisterRequest or CudaSharedMemoryUnregisterRequest:
                operation = ClientOperations.SharedMemory;
                return true;
            case TraceSettingRequest r:
                (operation, model) = (ClientOperations.Settings, r.ModelName.Length > 0 ? r.ModelName : null);
                return true;
            case LogSettingsRequest:
                operation = ClientOperations.Settings;
                return true;
            default:
                return false;
        }
    }
}
