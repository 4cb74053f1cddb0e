using System.Globalization;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>The model repository, shared-memory, trace and logging endpoints: JSON bodies converted to the protobuf
/// requests <see cref="InferenceServer"/> takes, with the checks (and their order and texts) that Triton's HTTP front
/// end makes before its core sees the request.</summary>
public sealed partial class HttpFrontend
{
    /// <summary>Size of a <c>cudaIpcMemHandle_t</c>.</summary>
    private const int CudaIpcHandleBytes = 64;

    /// <summary>POST <c>/v2/repository[/&lt;repo&gt;]/index</c>, body optional <c>{"ready":bool}</c>; the repository
    /// name is ignored, as Triton ignores it.</summary>
    private async Task RepositoryIndexAsync(HttpContext context)
    {
        RequireMethod(context, HttpMethods.Post);
        var body = await ReadJsonAsync(context, allowsEmpty: false).ConfigureAwait(false);
        bool ready = false;
        if (body is { } json && json.Members().TryGet("ready", out var value))
        {
            ready = value.IsBool ? value.AsBool() : throw Invalid("Invalid value for 'ready': expected a boolean");
        }

        var index = await _server.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = ready }, DateTime.MaxValue, context.RequestAborted)
            .ConfigureAwait(false);
        CallerOf(context).Filter(index);
        await WriteJsonAsync(context, ServerJson.RepositoryIndex(index)).ConfigureAwait(false);
    }

    /// <summary>POST <c>/v2/repository/models/&lt;m&gt;/load|unload</c>. Load parameters are strings: <c>config</c>
    /// passed on as it is, <c>file:&lt;version&gt;/&lt;path&gt;</c> base64 decoded into bytes. Unload takes
    /// <c>{"parameters":{"unload_dependents":bool}}</c>.</summary>
    private async Task RepositoryControlAsync(HttpContext context, HttpRoute route)
    {
        RequireMethod(context, HttpMethods.Post);
        if (route.Repository.Length > 0)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "'repository_name' specification is not supported"));
        }

        var body = await ReadJsonAsync(context, allowsEmpty: false).ConfigureAwait(false);
        var parameters = body is { } json && json.Members().TryGet("parameters", out var p) ? p : (JsonView?)null;
        var cancellationToken = context.RequestAborted;
        if (route.Action == "load")
        {
            var load = new RepositoryModelLoadRequest { ModelName = route.Model };
            if (parameters is { } given)
            {
                var members = given.Members();
                if (!members.IsObject)
                {
                    throw JsonView.Internal("attempt to get members for non-object");
                }

                foreach (var (key, value) in members.All)
                {
                    string text = value.AsString();
                    load.Parameters[key] = key == "config" ? new ModelRepositoryParameter { StringParam = text }
                        : key.StartsWith("file:", StringComparison.Ordinal) ? new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(Base64.Decode(text)) }
                        : throw JsonView.Internal("unexpected error on creating Triton parameter");
                }
            }

            await _server.LoadModelAsync(load, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var unload = new RepositoryModelUnloadRequest { ModelName = route.Model };
            // As in Triton, a non-boolean unload_dependents is not an error: the model alone is unloaded.
            if (parameters is { } given && given.Members().TryGet("unload_dependents", out var dependents) && dependents.IsBool)
            {
                unload.Parameters["unload_dependents"] = new ModelRepositoryParameter { BoolParam = dependents.AsBool() };
            }

            await _server.UnloadModelAsync(unload, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
        }

        WriteEmpty(context);
    }

    /// <summary><c>/v2/systemsharedmemory[/region/&lt;r&gt;]/status|register|unregister</c>: regions held by the daemon.</summary>
    private async Task SystemSharedMemoryAsync(HttpContext context, HttpRoute route)
    {
        RequireSharedMemoryMethod(context, route);
        switch (route.Action)
        {
            case "status":
                await WriteJsonAsync(context, ServerJson.SystemSharedMemory(_server.SystemSharedMemoryStatus(route.Region))).ConfigureAwait(false);
                return;
            case "register":
                RequireClientSharedMemory();
                if (route.Region.Length == 0)
                {
                    throw Invalid("'region name' is necessary to register system shared memory region");
                }

                var members = (await ReadJsonAsync(context, allowsEmpty: true).ConfigureAwait(false))!.Value.Members();
                if (!members.TryGet("key", out var key))
                {
                    throw Invalid("Shared memory register request has no 'key' field");
                }

                string shmKey = key.AsString();
                ulong offset = members.TryGet("offset", out var o) ? o.AsUInt() : 0;
                if (!members.TryGet("byte_size", out var size))
                {
                    throw Invalid("Shared memory register request has no 'byte_size' field");
                }

                _server.SystemSharedMemoryRegister(new SystemSharedMemoryRegisterRequest
                {
                    Name = route.Region,
                    Key = shmKey,
                    Offset = offset,
                    ByteSize = size.AsUInt(),
                });
                break;
            default:
                RequireClientSharedMemory();
                _server.SystemSharedMemoryUnregister(route.Region);
                break;
        }

        WriteEmpty(context);
    }

    /// <summary><c>/v2/cudasharedmemory[/region/&lt;r&gt;]/status|register|unregister</c>: forwarded to the upstream,
    /// whose GPUs hold the regions.</summary>
    private async Task CudaSharedMemoryAsync(HttpContext context, HttpRoute route)
    {
        RequireSharedMemoryMethod(context, route);
        var cancellationToken = context.RequestAborted;
        switch (route.Action)
        {
            case "status":
                var status = await _server.CudaSharedMemoryStatusAsync(new CudaSharedMemoryStatusRequest { Name = route.Region }, DateTime.MaxValue,
                    cancellationToken).ConfigureAwait(false);
                await WriteJsonAsync(context, ServerJson.CudaSharedMemory(status)).ConfigureAwait(false);
                return;
            case "register":
                RequireClientSharedMemory();
                if (route.Region.Length == 0)
                {
                    throw Invalid("'region name' is necessary to register cuda shared memory region");
                }

                var members = (await ReadJsonAsync(context, allowsEmpty: true).ConfigureAwait(false))!.Value.Members();
                if (!members.TryGet("raw_handle", out var handle))
                {
                    throw Invalid("Shared memory register request has no 'raw_handle' field");
                }

                string b64 = handle.Members().String("b64");
                ulong byteSize = members.UInt("byte_size");
                ulong deviceId = members.UInt("device_id");
                byte[] raw = Base64.Decode(b64);
                if (raw.Length != CudaIpcHandleBytes)
                {
                    throw Invalid("'raw_handle' must be a valid base64 encoded cudaIpcMemHandle_t");
                }

                await _server.CudaSharedMemoryRegisterAsync(new CudaSharedMemoryRegisterRequest
                {
                    Name = route.Region,
                    RawHandle = ByteString.CopyFrom(raw),
                    DeviceId = (long)Math.Min(deviceId, long.MaxValue),
                    ByteSize = byteSize,
                }, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
                break;
            default:
                RequireClientSharedMemory();
                await _server.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest { Name = route.Region }, DateTime.MaxValue,
                    cancellationToken).ConfigureAwait(false);
                break;
        }

        WriteEmpty(context);
    }

    /// <summary>GET or POST <c>/v2/trace/setting</c> and <c>/v2/models/&lt;m&gt;/trace/setting</c>. Values are JSON
    /// strings except <c>trace_level</c> (an array); <c>null</c> clears a model's own value (an empty value list to the
    /// upstream). The model must be ready; the file cannot be changed.</summary>
    private async Task TraceAsync(HttpContext context, HttpRoute route)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsPost(context.Request.Method))
        {
            throw new HttpFailure(StatusCodes.Status405MethodNotAllowed, "Method Not Allowed");
        }

        var cancellationToken = context.RequestAborted;
        if (route.Model.Length > 0 && !await _server.ModelReadyAsync(route.Model, "", DateTime.MaxValue, cancellationToken).ConfigureAwait(false))
        {
            throw Invalid($"Request for unknown model : {TritonErrors.Echo(route.Model)}");
        }

        var request = new TraceSettingRequest { ModelName = route.Model };
        if (HttpMethods.IsPost(context.Request.Method))
        {
            var members = (await ReadJsonAsync(context, allowsEmpty: true).ConfigureAwait(false))!.Value.Members();
            ReadTraceSettings(members, request);
        }

        var settings = await _server.TraceSettingAsync(request, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
        await WriteJsonAsync(context, ServerJson.TraceSettings(settings)).ConfigureAwait(false);
    }

    private static void ReadTraceSettings(JsonMembers members, TraceSettingRequest request)
    {
        if (members.Has("trace_file"))
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "trace file location can not be updated through network protocol"));
        }

        if (members.TryGet("trace_level", out var level))
        {
            var value = new TraceSettingRequest.Types.SettingValue();
            if (!level.IsNull)
            {
                var levels = members.Array("trace_level").Items();
                foreach (var item in levels)
                {
                    string text = item.AsString();
                    if (text == "OFF" && levels.Count > 1)
                    {
                        throw Invalid("Expect only one trace level 'OFF' is specified");
                    }

                    // Triton ignores levels it does not know.
                    if (text is "OFF" or "TIMESTAMPS" or "TENSORS")
                    {
                        value.Value.Add(text);
                    }
                }
            }

            if (level.IsNull || value.Value.Count > 0)
            {
                request.Settings["trace_level"] = value;
            }
        }

        TraceNumber(members, request, "trace_rate", int.MinValue, v => unchecked((uint)v).ToString(CultureInfo.InvariantCulture));
        TraceNumber(members, request, "trace_count", -1, v => v.ToString(CultureInfo.InvariantCulture));
        TraceNumber(members, request, "log_frequency", int.MinValue, v => unchecked((uint)v).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A numeric trace setting sent as a string and read as std::stoi reads it.</summary>
    private static void TraceNumber(JsonMembers members, TraceSettingRequest request, string key, int min, Func<int, string> format)
    {
        if (!members.TryGet(key, out var json))
        {
            return;
        }

        var value = new TraceSettingRequest.Types.SettingValue();
        if (!json.IsNull)
        {
            string text = json.AsString();
            var (parsed, problem) = Stoi(text);
            if (problem == StoiProblem.NoDigits)
            {
                throw Invalid($"Unable to parse '{key}', got: {TritonErrors.Echo(text)}");
            }

            if (problem == StoiProblem.OutOfRange)
            {
                string range = key == "trace_count" ? $"[ -1, {int.MaxValue} ]" : $"[ 0, {uint.MaxValue} ]";
                throw Invalid($"Unable to parse '{key}', value is out of range {range}, got: {TritonErrors.Echo(text)}");
            }

            if (parsed < min)
            {
                throw Invalid($"Unable to parse '{key}'. Expecting value >= {min}, got:{TritonErrors.Echo(text)}");
            }

            value.Value.Add(format(parsed));
        }

        request.Settings[key] = value;
    }

    private enum StoiProblem
    {
        None,
        NoDigits,
        OutOfRange,
    }

    /// <summary>std::stoi (<see cref="CppIntegers"/>, within the int range).</summary>
    private static (int Value, StoiProblem Problem) Stoi(string text) =>
        !CppIntegers.TryRead(text, out long value, out bool overflow) ? (0, StoiProblem.NoDigits)
        : overflow || value is < int.MinValue or > int.MaxValue ? (0, StoiProblem.OutOfRange)
        : ((int)value, StoiProblem.None);

    /// <summary>GET or POST <c>/v2/logging</c>. Triton applies each setting as it reads it, so the settings before a bad
    /// one still take effect; so here.</summary>
    private async Task LoggingAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsPost(context.Request.Method))
        {
            throw new HttpFailure(StatusCodes.Status405MethodNotAllowed, "Method Not Allowed");
        }

        var cancellationToken = context.RequestAborted;
        var request = new LogSettingsRequest();
        if (HttpMethods.IsPost(context.Request.Method))
        {
            var members = (await ReadJsonAsync(context, allowsEmpty: true).ConfigureAwait(false))!.Value.Members();
            try
            {
                ReadLogSettings(members, request);
            }
            catch (RpcException) when (request.Settings.Count > 0)
            {
                await _server.LogSettingsAsync(request, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
                throw;
            }
        }

        var settings = await _server.LogSettingsAsync(request, DateTime.MaxValue, cancellationToken).ConfigureAwait(false);
        await WriteJsonAsync(context, ServerJson.LogSettings(settings)).ConfigureAwait(false);
    }

    private static void ReadLogSettings(JsonMembers members, LogSettingsRequest request)
    {
        if (members.TryGet("log_file", out var file) && !file.IsNull)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "log file location can not be updated through network protocol"));
        }

        foreach (string key in (ReadOnlySpan<string>)["log_info", "log_warning", "log_error"])
        {
            if (members.TryGet(key, out var flag) && !flag.IsNull)
            {
                request.Settings[key] = new LogSettingsRequest.Types.SettingValue { BoolParam = flag.AsBool() };
            }
        }

        if (members.TryGet("log_verbose_level", out var verbose) && !verbose.IsNull)
        {
            request.Settings["log_verbose_level"] = new LogSettingsRequest.Types.SettingValue { Uint32Param = unchecked((uint)verbose.AsUInt()) };
        }

        if (members.TryGet("log_format", out var format) && !format.IsNull)
        {
            string text = format.AsString();
            if (text is not ("default" or "ISO8601"))
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"invalid argument for --log_format, got: {TritonErrors.Echo(text)}"));
            }

            request.Settings["log_format"] = new LogSettingsRequest.Types.SettingValue { StringParam = text };
        }
    }

    /// <summary>Status needs GET; register and unregister need POST.</summary>
    private static void RequireSharedMemoryMethod(HttpContext context, HttpRoute route) =>
        RequireMethod(context, route.Action == "status" ? HttpMethods.Get : HttpMethods.Post);

    private void RequireClientSharedMemory()
    {
        if (!_server.Options.AllowClientSharedMemory)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, TritonErrors.ClientShmDisabled));
        }
    }

    /// <summary>The body of a control request as JSON, at most <c>Limits:HttpMaxInputBytes</c>. An empty body is no
    /// JSON (null) where Triton skips parsing it, and a parse error (the document is empty) where it does not.</summary>
    private async Task<JsonView?> ReadJsonAsync(HttpContext context, bool allowsEmpty)
    {
        var body = RequestBody.FromPipe(context.Request.BodyReader, context.Request.ContentLength);
        if (body.Remaining is long declared && declared > _maxInput)
        {
            throw HttpLimits.JsonTooLarge(declared, _maxInput);
        }

        var bytes = await body.ReadAsync(body.Remaining ?? _maxInput + 1, context.RequestAborted).ConfigureAwait(false);
        if (bytes.Length > _maxInput)
        {
            throw HttpLimits.JsonTooLarge(bytes.Length, _maxInput);
        }

        if (bytes.Length == 0 && !allowsEmpty)
        {
            return null;
        }

        JsonView.Validate(bytes.Span);
        return JsonView.Root(bytes);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
