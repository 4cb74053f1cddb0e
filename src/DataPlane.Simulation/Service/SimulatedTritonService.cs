using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>The gRPC face of the simulated Triton: Triton's <c>inference.GRPCInferenceService</c> (all 20 RPCs) over a
/// <see cref="SimulatedTriton"/>, imitating Triton 2.70.0 (container 26.06) on a CPU-only server. Exact codes and
/// texts come from Triton's front end and core (<see cref="TritonErrors"/>).
/// <list type="bullet">
/// <item>Identity: ServerMetadata <c>triton</c>, <see cref="Options.SimulationOptions.ServerVersion"/>, the 13
/// <see cref="Extensions"/>; ModelReady answers false (status OK) for an unknown model; while not
/// <see cref="SimulatedTriton.Ready"/>, model requests are UNAVAILABLE <c>Server not ready</c>.</item>
/// <item>Inference: the model and version are looked up first (NOT_FOUND/UNAVAILABLE texts of Triton's lifecycle),
/// then a decoupled model over ModelInfer is UNIMPLEMENTED, then the request parameters, the tensors (raw, typed or
/// in system shared memory) and the requested outputs (shared-memory windows) are checked, then the declaration
/// (<see cref="Protocol.Models.ModelSignature"/>), then the sequence batcher's rules. Every output comes back in
/// <c>raw_output_contents</c>, index-aligned with <c>outputs</c>, whatever form the inputs took; an output written to
/// shared memory has an empty raw entry and no parameters.</item>
/// <item>ModelStreamInfer: requests run concurrently; responses of non-decoupled models are written in request
/// order, those of decoupled models as produced; every response after inference carries
/// <c>triton_final_response</c>. An error goes in <c>error_message</c> without a code prefix (the response keeps
/// only the request id, plus the model name and version when inference had begun) and the stream stays open; with
/// the header <c>triton_grpc_error: true</c> the first error raised during inference ends the stream with its status
/// instead (errors found before inference still go in <c>error_message</c>, as in Triton).</item>
/// <item>Statistics as Triton counts them (<see cref="Execution.SimulatedModelStatistics"/>), for ready models only,
/// sorted by name.</item>
/// <item>Repository index, load and unload (<see cref="Options.SimulatedModelControl"/>), system shared memory
/// (register and unregister gated by <see cref="Options.SimulationOptions.AllowClientShm"/>), CUDA shared memory as
/// a server without GPUs answers, and trace and log settings (stored, never acted on).</item>
/// </list></summary>
public sealed partial class SimulatedTritonService : GRPCInferenceService.GRPCInferenceServiceBase
{
    private readonly SimulatedTriton _triton;
    private readonly ILogger _logger;

    public SimulatedTritonService(SimulatedTriton triton, ILogger<SimulatedTritonService> logger)
    {
        _triton = triton;
        _logger = logger;
    }

    /// <summary>Protocol extensions reported by ServerMetadata: Triton's, in Triton's order.</summary>
    public static IReadOnlyList<string> Extensions { get; } =
    [
        "classification", "sequence", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
        "model_configuration", "system_shared_memory", "cuda_shared_memory", "binary_tensor_data", "parameters",
        "statistics", "trace", "logging",
    ];

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = _triton.Ready });

    /// <summary>Ready when the version is ready; an unknown model or version is not an error (Triton's core up to
    /// r26.06). A bad version string is INVALID_ARGUMENT; a server that is not ready, UNAVAILABLE.</summary>
    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        Throw(TritonErrors.TryParseVersion(request.Version, out long version));
        Throw(_triton.Ready ? null : new RequestError(StatusCode.Unavailable, TritonErrors.ServerNotReady));
        return Task.FromResult(new ModelReadyResponse { Ready = _triton.Repository.TryGet(request.Name, version, enter: false, out _) == null });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = SimulatedTriton.ServerName, Version = _triton.Options.ServerVersion };
        response.Extensions.Add(Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(Find(request.Name, request.Version).Metadata());

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = Find(request.Name, request.Version).Config() });

    /// <summary>Statistics of the ready models (all, sorted by name, when no name is given). A model with no ready
    /// version, or a version that is not ready, is INVALID_ARGUMENT with Triton's statistics texts.</summary>
    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        Throw(TritonErrors.TryParseVersion(request.Version, out long version));
        Throw(_triton.Ready ? null : new RequestError(StatusCode.Unavailable, TritonErrors.ServerNotReady));
        var response = new ModelStatisticsResponse();
        if (request.Name.Length == 0)
        {
            foreach (var model in _triton.Repository.ReadyModels())
            {
                response.ModelStats.Add(model.Statistics.Snapshot(model.Name, SimulatedModel.ServedVersion));
            }

            return Task.FromResult(response);
        }

        if (_triton.Repository.TryGet(request.Name, -1, enter: false, out var found) != null)
        {
            throw TritonErrors.StatisticsModelUnavailable(request.Name).ToException();
        }

        if (version != -1 && version != SimulatedModel.ServedVersionNumber)
        {
            throw TritonErrors.StatisticsVersionUnavailable(request.Name).ToException();
        }

        response.ModelStats.Add(found!.Statistics.Snapshot(found.Name, SimulatedModel.ServedVersion));
        return Task.FromResult(response);
    }

    /// <summary>The loaded model named <paramref name="name"/> at <paramref name="version"/>; throws Triton's error otherwise.</summary>
    private SimulatedModel Find(string name, string version)
    {
        Throw(_triton.TryGetModel(name, version, enter: false, out var model));
        return model!;
    }

    private static void Throw(RequestError? error)
    {
        if (error is { } e)
        {
            throw e.ToException();
        }
    }

    /// <summary>The canonical upper-case name of a status code, e.g. INVALID_ARGUMENT (for logs).</summary>
    internal static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.Internal => "INTERNAL",
        _ => "UNKNOWN",
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 7101, Level = LogLevel.Debug, Message = "Simulated Triton rejected a request for model '{Model}': {Code}: {Reason}")]
        public static partial void Rejected(ILogger logger, string model, string code, string reason);

        [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Simulated Triton stopped a stream request for model '{Model}': {Reason}")]
        public static partial void StreamRequestStopped(ILogger logger, string model, string reason);

        [LoggerMessage(EventId = 7103, Level = LogLevel.Debug, Message = "Simulated Triton ended a stream with {Code} (triton_grpc_error): {Reason}")]
        public static partial void StreamEnded(ILogger logger, string code, string reason);

        [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Simulated Triton {Action} of model '{Model}' refused: {Code}: {Reason}")]
        public static partial void ControlRefused(ILogger logger, string action, string model, string code, string reason);

        [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "Simulated Triton shared memory {Action} '{Region}': {Outcome}")]
        public static partial void SharedMemory(ILogger logger, string action, string region, string outcome);
    }
}
