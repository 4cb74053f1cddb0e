using System.Text;
using System.Text.Json;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Options;
using Grpc.Core;

namespace DataPlane.Simulation;

public sealed partial class SimulatedTritonService
{
    private const string RepositoryNameUnsupported = "'repository_name' specification is not supported";

    /// <summary>Every model of the repository sorted by name (<see cref="Repository.ModelRepository.Index"/>).</summary>
    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        Throw(request.RepositoryName.Length > 0 ? new RequestError(StatusCode.Unimplemented, RepositoryNameUnsupported) : null);
        Throw(NotReady());
        return Task.FromResult(_triton.Repository.Index(request.Ready));
    }

    /// <summary>Loads a model (explicit model control) and answers once it is ready. The parameters are checked as
    /// Triton checks them: <c>config</c> a string holding a JSON object, <c>file:…</c> bytes (with <c>config</c>),
    /// nothing else. The simulation does not apply a configuration override: the model keeps its configured
    /// declaration and a model already loaded stays as it is.</summary>
    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        RequestError? error = request.RepositoryName.Length > 0 ? new RequestError(StatusCode.Unimplemented, RepositoryNameUnsupported) : null;
        string? config = null;
        bool files = false;
        if (error == null)
        {
            error = CheckLoadParameters(request, out config, out files);
        }

        error ??= NotReady() ?? ControlDisabled() ?? CheckModelName(request.ModelName);
        if (error == null && !_triton.Repository.TryGetEntry(request.ModelName, out _))
        {
            error = new RequestError(StatusCode.Internal, $"failed to load '{TritonErrors.Echo(request.ModelName)}', failed to poll from model repository");
        }

        error ??= config is null
            ? files ? RequestError.Invalid("Load parameter 'config' must be specified for model file override") : null
            : CheckConfig(config);
        error ??= await _triton.Repository.LoadAsync(request.ModelName).ConfigureAwait(false);
        if (error is { } e)
        {
            Log.ControlRefused(_logger, "load", request.ModelName, StatusName(e.Code), e.Message);
            throw e.ToException();
        }

        return new RepositoryModelLoadResponse();
    }

    /// <summary>Unloads a model (explicit model control) and answers once its requests in flight have finished; an
    /// unknown name succeeds. <c>unload_dependents</c> must be a bool; other parameters are ignored.</summary>
    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        RequestError? error = request.RepositoryName.Length > 0 ? new RequestError(StatusCode.Unimplemented, RepositoryNameUnsupported) : null;
        if (error == null && request.Parameters.TryGetValue("unload_dependents", out var dependents) &&
            dependents.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BoolParam)
        {
            error = RequestError.Invalid("invalid value type for 'unload_dependents' parameter, expected bool_param.");
        }

        error ??= NotReady() ?? ControlDisabled();
        if (error is { } e)
        {
            Log.ControlRefused(_logger, "unload", request.ModelName, StatusName(e.Code), e.Message);
            throw e.ToException();
        }

        await _triton.Repository.UnloadAsync(request.ModelName).ConfigureAwait(false);
        return new RepositoryModelUnloadResponse();
    }

    /// <summary>The load parameters as Triton's front end checks them, in the request's order.</summary>
    private static RequestError? CheckLoadParameters(RepositoryModelLoadRequest request, out string? config, out bool files)
    {
        config = null;
        files = false;
        foreach (var (key, value) in request.Parameters)
        {
            if (key == "config")
            {
                if (value.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam)
                {
                    return RequestError.Invalid("invalid value type for load parameter 'config', expected string_param.");
                }

                config = value.StringParam;
            }
            else if (key.StartsWith("file:", StringComparison.Ordinal))
            {
                if (value.ParameterChoiceCase != ModelRepositoryParameter.ParameterChoiceOneofCase.BytesParam)
                {
                    return RequestError.Invalid($"invalid value type for load parameter '{TritonErrors.Echo(key)}', expected bytes_param.");
                }

                files = true;
            }
            else
            {
                return RequestError.Invalid($"unrecognized load parameter '{TritonErrors.Echo(key)}'.");
            }
        }

        return null;
    }

    private RequestError? NotReady() => _triton.Ready ? null : new RequestError(StatusCode.Unavailable, TritonErrors.ServerNotReady);

    private RequestError? ControlDisabled() => _triton.Options.ModelControl == SimulatedModelControl.Explicit
        ? null
        : new RequestError(StatusCode.Unavailable, TritonErrors.ModelControlDisabled);

    /// <summary>Triton's check of a model name to load: not blank, no path traversal.</summary>
    private static RequestError? CheckModelName(string name)
    {
        string trimmed = name.Trim();
        if (trimmed.Length == 0)
        {
            return RequestError.Invalid("Model name cannot be empty. Please enter a valid name to deploy.");
        }

        return trimmed == ".." || trimmed.Contains('/', StringComparison.Ordinal)
            ? RequestError.Invalid($"invalid model name '{TritonErrors.Echo(name)}', model name must not contain path traversal characters")
            : null;
    }

    /// <summary>The <c>config</c> load parameter must be one JSON object; only its syntax is checked.</summary>
    private static RequestError? CheckConfig(string config)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(config), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return RequestError.Invalid("Invalid config override: the model configuration must be a JSON object");
            }

            reader.Skip();
            return reader.Read()
                ? RequestError.Invalid($"Invalid config override: unexpected data after the JSON object at byte {reader.TokenStartIndex}")
                : null;
        }
        catch (JsonException e)
        {
            return RequestError.Invalid($"Invalid config override: {e.Message}");
        }
    }

    /// <summary>System shared-memory regions; never gated.</summary>
    public override Task<SystemSharedMemoryStatusResponse> SystemSharedMemoryStatus(SystemSharedMemoryStatusRequest request, ServerCallContext context) =>
        Task.FromResult(_triton.SharedMemory.Status(request.Name));

    public override Task<SystemSharedMemoryRegisterResponse> SystemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request, ServerCallContext context)
    {
        Throw(ShmDisabled());
        try
        {
            _triton.SharedMemory.Register(request.Name, request.Key, request.Offset, request.ByteSize);
        }
        catch (RpcException e)
        {
            Log.SharedMemory(_logger, "register", request.Name, e.Status.Detail);
            throw;
        }

        Log.SharedMemory(_logger, "register", request.Name, $"key '{request.Key}', {request.ByteSize} bytes at offset {request.Offset}");
        return Task.FromResult(new SystemSharedMemoryRegisterResponse());
    }

    public override Task<SystemSharedMemoryUnregisterResponse> SystemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request, ServerCallContext context)
    {
        Throw(ShmDisabled());
        _triton.SharedMemory.Unregister(request.Name);
        return Task.FromResult(new SystemSharedMemoryUnregisterResponse());
    }

    /// <summary>A server without GPUs has no CUDA regions: empty status, NOT_FOUND for a name.</summary>
    public override Task<CudaSharedMemoryStatusResponse> CudaSharedMemoryStatus(CudaSharedMemoryStatusRequest request, ServerCallContext context)
    {
        if (request.Name.Length > 0)
        {
            string region = TritonErrors.Echo(request.Name);
            bool system = _triton.SharedMemory.Status("").Regions.ContainsKey(request.Name);
            throw new RpcException(new Status(StatusCode.NotFound, system
                ? $"The region named '{region}' is registered as system shared memory, not CUDA shared memory"
                : $"Unable to find cuda shared memory region: '{region}'"));
        }

        return Task.FromResult(new CudaSharedMemoryStatusResponse());
    }

    /// <summary>As a server built without GPU support answers, whether client shared memory is allowed or not.</summary>
    public override Task<CudaSharedMemoryRegisterResponse> CudaSharedMemoryRegister(CudaSharedMemoryRegisterRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.InvalidArgument,
            $"failed to register CUDA shared memory region: '{TritonErrors.Echo(request.Name)}', GPUs not supported"));

    /// <summary>Nothing to unregister without GPUs: success (an empty name, every region, included).</summary>
    public override Task<CudaSharedMemoryUnregisterResponse> CudaSharedMemoryUnregister(CudaSharedMemoryUnregisterRequest request, ServerCallContext context)
    {
        Throw(ShmDisabled());
        return Task.FromResult(new CudaSharedMemoryUnregisterResponse());
    }

    private RequestError? ShmDisabled() =>
        _triton.Options.AllowClientShm ? null : new RequestError(StatusCode.Unimplemented, TritonErrors.ClientShmDisabled);

    /// <summary>Trace settings, global or of a ready model (<see cref="Settings.TraceSettings"/>); stored only.</summary>
    public override Task<TraceSettingResponse> TraceSetting(TraceSettingRequest request, ServerCallContext context)
    {
        if (request.ModelName.Length > 0)
        {
            Throw(NotReady());
            if (_triton.Repository.TryGet(request.ModelName, -1, enter: false, out _) != null)
            {
                throw RequestError.Invalid($"Request for unknown model : {TritonErrors.Echo(request.ModelName)}").ToException();
            }
        }

        Throw(_triton.Trace.TryApply(request, out var response));
        return Task.FromResult(response);
    }

    /// <summary>Log settings (<see cref="Settings.LogSettings"/>); stored only.</summary>
    public override Task<LogSettingsResponse> LogSettings(LogSettingsRequest request, ServerCallContext context)
    {
        Throw(_triton.Logs.TryApply(request, out var response));
        return Task.FromResult(response);
    }
}
