using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Llm;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>The gRPC face of the simulated Triton: the KServe v2 / Triton <c>GRPCInferenceService</c>
/// over a <see cref="SimulatedTriton"/>.
/// <para>Requests are checked as Triton checks them: an unknown model or version is NOT_FOUND; tensor
/// framing (<c>TensorReader.TryReadInputs</c> with <see cref="TensorLimits.Default"/>), a
/// mismatch with the model's declaration, or an unknown requested output is INVALID_ARGUMENT with a
/// message naming the tensor; ModelInfer to a decoupled (LLM) model is INVALID_ARGUMENT; while the
/// simulation is not <see cref="SimulatedTriton.Ready"/>, UNAVAILABLE.</para>
/// <para>Responses mirror requests: raw inputs get <c>raw_output_contents</c>, typed inputs get typed
/// contents; the request id is echoed; the requested outputs come back in request order (all, in
/// declaration order, when none are named); response parameters are empty for tensor models.</para>
/// <para>ModelStreamInfer runs the requests of one stream concurrently, their responses interleaving.
/// Each response carries <c>triton_final_response</c>. An error goes in <c>error_message</c> as
/// "CODE: message" (e.g. "INVALID_ARGUMENT: …") with the request's id and model name, and the stream
/// stays open. See <see cref="SimulatedLlm"/> for the token stream.</para></summary>
public sealed partial class SimulatedTritonService : GRPCInferenceService.GRPCInferenceServiceBase
{
    private readonly SimulatedTriton _triton;
    private readonly ILogger _logger;

    public SimulatedTritonService(SimulatedTriton triton, ILogger<SimulatedTritonService> logger)
    {
        _triton = triton;
        _logger = logger;
    }

    /// <summary>Protocol extensions reported by ServerMetadata: ModelConfig and ModelStatistics are
    /// served, and the request and response parameters of Triton's streaming convention are honoured.</summary>
    public static IReadOnlyList<string> Extensions { get; } = ["model_configuration", "statistics", "parameters"];

    /// <summary>Version reported by ServerMetadata: the assembly's.</summary>
    public static string Version { get; } = typeof(SimulatedTritonService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = _triton.Ready });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelReadyResponse
        {
            Ready = _triton.Ready && _triton.TryGetModel(request.Name, out _) && SimulatedModel.ServesVersion(request.Version),
        });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = SimulatedTriton.ServerName, Version = Version };
        response.Extensions.Add(Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(Find(request.Name, request.Version).Metadata());

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = Find(request.Name, request.Version).Config() });

    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        var response = new ModelStatisticsResponse();
        if (request.Name.Length == 0)
        {
            foreach (var model in _triton.OrderedModels)
            {
                response.ModelStats.Add(model.Statistics.Snapshot(model.Name, SimulatedModel.ServedVersion));
            }
        }
        else
        {
            var model = Find(request.Name, request.Version);
            response.ModelStats.Add(model.Statistics.Snapshot(model.Name, SimulatedModel.ServedVersion));
        }

        return Task.FromResult(response);
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        var response = new RepositoryIndexResponse();
        bool ready = _triton.Ready;
        if (!request.Ready || ready)
        {
            foreach (var model in _triton.OrderedModels)
            {
                response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
                {
                    Name = model.Name,
                    Version = SimulatedModel.ServedVersion,
                    State = ready ? "READY" : "UNAVAILABLE",
                    Reason = ready ? "" : "the simulated Triton is not ready",
                });
            }
        }

        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        long arrival = PreciseTimer.Now;
        var admitted = Admit(request, streaming: false, out var model, out var error);
        if (error is { } e)
        {
            Rejected(request, model, arrival, e);
            throw e.ToException();
        }

        var served = model!;
        byte[][] results;
        try
        {
            results = await served.Pool!.ExecuteAsync(admitted.Outputs, admitted.Rows, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            served.Statistics.Failed(PreciseTimer.Now - arrival);
            var code = context.Deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled;
            throw new RpcException(new Status(code, $"request for simulated model '{served.Name}' ended while waiting for an instance"));
        }
        catch (ObjectDisposedException)
        {
            served.Statistics.Failed(PreciseTimer.Now - arrival);
            throw new RpcException(new Status(StatusCode.Unavailable, "the simulated Triton is stopping"));
        }

        served.Statistics.Succeeded(PreciseTimer.Now - arrival);
        return BuildResponse(served, request, admitted, results);
    }

    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        var stream = new StreamCall(this, responseStream, context.CancellationToken);
        var running = new List<Task>();
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                if (running.Count >= 64)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }

                running.Add(stream.RunAsync(requestStream.Current));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client cancelled or went away; the running requests see the same token and stop.
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>The model named <paramref name="name"/>; throws NOT_FOUND when there is none or it
    /// lacks <paramref name="version"/>.</summary>
    private SimulatedModel Find(string name, string version) =>
        Lookup(name, version, out var model) is { } error ? throw error.ToException() : model!;

    /// <summary>Finds a model and version: null when served, otherwise why not.</summary>
    private SimulationError? Lookup(string name, string version, out SimulatedModel? model)
    {
        if (!_triton.TryGetModel(name, out var found))
        {
            model = null;
            return name.Length == 0
                ? SimulationError.Invalid("no model name given")
                : new SimulationError(StatusCode.NotFound, $"Request for unknown model: '{name}' is not found");
        }

        model = found;
        return SimulatedModel.ServesVersion(version) ? null : new SimulationError(StatusCode.NotFound,
            $"Request for unknown model: '{name}' version {version} is not found; it serves version {SimulatedModel.ServedVersion}");
    }

    /// <summary>Finds the model and reads and checks the request. On success the returned value holds
    /// the inputs and the planned outputs; otherwise <paramref name="error"/> says why (and
    /// <paramref name="model"/> is set when the model was found).</summary>
    private Admitted Admit(ModelInferRequest request, bool streaming, out SimulatedModel? model, out SimulationError? error)
    {
        error = Lookup(request.ModelName, request.ModelVersion, out model);
        if (error != null)
        {
            return default;
        }

        var found = model!;
        if (found.Decoupled && !streaming)
        {
            error = SimulationError.Invalid($"model '{found.Name}' is decoupled; use ModelStreamInfer");
            return default;
        }

        if (!_triton.Ready)
        {
            error = new SimulationError(StatusCode.Unavailable, $"the simulated Triton is not ready; model '{found.Name}' is unavailable");
            return default;
        }

        string? framing = TensorReader.TryReadInputs(request, TensorLimits.Default, out var inputs, out bool typed);
        if (framing != null)
        {
            error = SimulationError.Invalid(framing);
            return default;
        }

        error = found.Validate(request, inputs, out long rows, out var outputs);
        return new Admitted(inputs, typed, rows, outputs);
    }

    /// <summary>Counts and logs a request answered with <paramref name="error"/>.</summary>
    private void Rejected(ModelInferRequest request, SimulatedModel? model, long arrival, SimulationError error)
    {
        model?.Statistics.Failed(PreciseTimer.Now - arrival);
        Log.Rejected(_logger, request.ModelName, StatusName(error.Code), error.Message);
    }

    private static ModelInferResponse BuildResponse(SimulatedModel model, ModelInferRequest request, in Admitted admitted, byte[][] results)
    {
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = SimulatedModel.ServedVersion, Id = request.Id };
        var plan = admitted.Outputs;

        // Typed contents cannot carry FP16 or BF16; a typed request can only hold such a tensor when it is empty.
        bool typed = admitted.Typed && Array.TrueForAll(plan, p => p.Source.DataType.HasTypedContents());
        for (int i = 0; i < plan.Length; i++)
        {
            var source = plan[i].Source;
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = plan[i].Spec.Name, Datatype = source.DataType.WireName() };
            output.Shape.Add(source.Shape);
            if (typed)
            {
                output.Contents = TypedContents.FromRaw(source.DataType, results[i]);
            }
            else
            {
                response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(results[i]));
            }

            response.Outputs.Add(output);
        }

        return response;
    }

    /// <summary>The canonical upper-case name of a status code, e.g. INVALID_ARGUMENT.</summary>
    internal static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.Internal => "INTERNAL",
        _ => "UNKNOWN",
    };

    /// <summary>A request that passed every check.</summary>
    private readonly record struct Admitted(Tensor[] Inputs, bool Typed, long Rows, PlannedOutput[] Outputs);

    private static partial class Log
    {
        [LoggerMessage(EventId = 7101, Level = LogLevel.Debug, Message = "Simulated Triton rejected a request for model '{Model}': {Code}: {Reason}")]
        public static partial void Rejected(ILogger logger, string model, string code, string reason);

        [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Simulated Triton stopped a stream request for model '{Model}': {Reason}")]
        public static partial void StreamRequestStopped(ILogger logger, string model, string reason);
    }
}
