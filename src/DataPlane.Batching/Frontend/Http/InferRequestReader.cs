using System.Buffers.Binary;
using DataPlane.Batching.Models;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>How an output comes back in an HTTP answer.</summary>
internal enum OutputForm
{
    /// <summary>Its elements in the JSON <c>data</c> array.</summary>
    Json,

    /// <summary>Its raw bytes after the JSON (the binary tensor data extension).</summary>
    Binary,

    /// <summary>Written into a shared-memory region: the JSON names it only.</summary>
    SharedMemory,
}

/// <summary>A request read off the wire: the <see cref="ModelInferRequest"/> for the batcher (every input's bytes in
/// <c>raw_input_contents</c>, or in shared memory) and how each output is to be answered.</summary>
internal sealed class InferPlan(ModelInferRequest request, OutputForm defaultForm, Dictionary<string, OutputForm> forms)
{
    public ModelInferRequest Request { get; } = request;

    public OutputForm FormOf(string output) => forms.TryGetValue(output, out var form) ? form : defaultForm;
}

/// <summary>Reads an inference request of Triton's HTTP protocol: a JSON header (KServe v2, with Triton's parameters and
/// extensions), the binary tensor data that follows it, or a raw binary body; every rule, order and text as Triton's
/// HTTP front end has them.</summary>
internal static class InferRequestReader
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>Reads the request. <paramref name="headerLength"/> is the value of <see cref="HeaderLengthHeader"/>
    /// (null when absent); <paramref name="body"/> is the (decompressed) body.</summary>
    public static async Task<InferPlan> ReadAsync(string? headerLength, RequestBody body, ModelDescriptor model, string name, string version,
        long maxInput, CancellationToken cancellationToken)
    {
        long jsonLength;
        if (headerLength == null)
        {
            jsonLength = body.Remaining ?? -1;
        }
        else
        {
            int parsed = ParseHeaderLength(headerLength);
            if (parsed < 0 || (body.Remaining is long known && parsed > known))
            {
                throw HeaderOutOfRange(body.Remaining ?? await CountRestAsync(body, cancellationToken).ConfigureAwait(false), headerLength);
            }

            if (parsed == 0)
            {
                return await ReadRawAsync(body, model, name, version, maxInput, cancellationToken).ConfigureAwait(false);
            }

            jsonLength = parsed;
        }

        if (jsonLength > maxInput)
        {
            throw HttpLimits.JsonTooLarge(jsonLength, maxInput);
        }

        // A chunked body without the header is JSON to its end; read one byte past the limit to know it is passed.
        long want = jsonLength >= 0 ? jsonLength : maxInput + 1;
        var json = await body.ReadAsync(want, cancellationToken).ConfigureAwait(false);
        if (jsonLength < 0 && json.Length > maxInput)
        {
            throw HttpLimits.JsonTooLarge(json.Length, maxInput);
        }

        if (jsonLength >= 0 && json.Length < jsonLength)
        {
            // Only a chunked body can be shorter than its header says: Triton measures the body first.
            throw HeaderOutOfRange(json.Length, headerLength ?? "");
        }

        JsonView.Validate(json.Span);
        var root = JsonView.Root(json).Members();
        var request = new ModelInferRequest { ModelName = name, ModelVersion = version };
        ReadId(root, request);
        var defaultForm = ReadParameters(root, request);
        var forms = new Dictionary<string, OutputForm>(StringComparer.Ordinal);
        await ReadInputsAsync(root, request, body, name, maxInput, cancellationToken).ConfigureAwait(false);
        ReadOutputs(root, request, forms);
        return new InferPlan(request, defaultForm, forms);
    }

    /// <summary>std::stoi's reading of the header, as Triton parses it: leading blanks, a sign, digits; the rest is
    /// ignored.</summary>
    private static int ParseHeaderLength(string value)
    {
        int i = 0;
        while (i < value.Length && value[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        bool negative = false;
        if (i < value.Length && value[i] is '+' or '-')
        {
            negative = value[i] == '-';
            i++;
        }

        int start = i;
        long magnitude = 0;
        bool overflow = false;
        while (i < value.Length && char.IsAsciiDigit(value[i]))
        {
            magnitude = (magnitude * 10) + (value[i] - '0');
            overflow |= magnitude > (long)int.MaxValue + 1;
            if (overflow)
            {
                magnitude = (long)int.MaxValue + 1;
            }

            i++;
        }

        if (i == start)
        {
            throw Invalid($"Unable to parse {HeaderLengthHeader}, got: {TritonErrors.Echo(value)}");
        }

        long result = negative ? -magnitude : magnitude;
        if (overflow || result > int.MaxValue || result < int.MinValue)
        {
            throw Invalid($"Unable to parse {HeaderLengthHeader}, value is out of range [ {int.MinValue}, {int.MaxValue} ], got: {TritonErrors.Echo(value)}");
        }

        return (int)result;
    }

    private static RpcException HeaderOutOfRange(long contentLength, string value) =>
        Invalid($"inference header size should be in range (0, {contentLength}), got: {TritonErrors.Echo(value)}");

    /// <summary>The length of a chunked body, for a message that quotes it: the rest is read and dropped.</summary>
    private static async Task<long> CountRestAsync(RequestBody body, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var chunk = await body.ReadAsync(1 << 20, cancellationToken).ConfigureAwait(false);
            total += chunk.Length;
            if (chunk.Length < 1 << 20)
            {
                return total;
            }
        }
    }

    private static void ReadId(JsonMembers root, ModelInferRequest request)
    {
        if (root.TryGet("id", out var id))
        {
            request.Id = Parse("id", id.AsString);
        }
    }

    /// <summary>The request parameters: Triton's own keys converted to what its gRPC front end takes (the batcher
    /// reads the gRPC form), <c>binary_data_output</c> consumed here, every <c>triton_</c> key refused, the rest passed on
    /// as custom parameters. Returns the default form of outputs.</summary>
    private static OutputForm ReadParameters(JsonMembers root, ModelInferRequest request)
    {
        var form = OutputForm.Json;
        if (!root.TryGet("parameters", out var parameters))
        {
            return form;
        }

        var members = parameters.Members();
        if (!members.IsObject)
        {
            throw JsonView.Internal("failed to get request params.: attempt to get members for non-object");
        }

        foreach (var (key, value) in members.All)
        {
            switch (key)
            {
                case SequenceKey.IdKey:
                    request.Parameters[key] = value.TryGetUInt64(out ulong id)
                        ? new InferParameter { Int64Param = unchecked((long)id) }
                        : new InferParameter { StringParam = Parse(key, value.AsString) };
                    break;
                case SequenceKey.StartKey:
                case SequenceKey.EndKey:
                    request.Parameters[key] = new InferParameter { BoolParam = Parse(key, value.AsBool) };
                    break;
                case "priority":
                    request.Parameters[key] = new InferParameter { Uint64Param = Parse(key, value.AsUInt) };
                    break;
                case "timeout":
                    request.Parameters[key] = new InferParameter { Int64Param = (long)Math.Min(Parse(key, value.AsUInt), long.MaxValue) };
                    break;
                case "binary_data_output":
                    form = Parse(key, value.AsBool) ? OutputForm.Binary : OutputForm.Json;
                    break;
                default:
                    if (key.StartsWith("triton_", StringComparison.Ordinal))
                    {
                        throw Invalid("parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified.");
                    }

                    request.Parameters[key] = Custom(key, value);
                    break;
            }
        }

        return form;
    }

    /// <summary>A custom parameter: a string, an integer, a boolean or another number (a double), as Triton takes them.</summary>
    private static InferParameter Custom(string key, JsonView value)
    {
        if (value.IsString)
        {
            return new InferParameter { StringParam = value.AsString() };
        }

        if (value.TryGetInt64(out long i))
        {
            return new InferParameter { Int64Param = i };
        }

        if (value.IsBool)
        {
            return new InferParameter { BoolParam = value.AsBool() };
        }

        if (value.Kind == System.Text.Json.JsonTokenType.Number)
        {
            return new InferParameter { DoubleParam = value.AsDouble() };
        }

        throw Invalid($"parameter '{TritonErrors.Echo(key)}' has invalid type. It should be either 'int', 'bool', or 'string'.");
    }

    private static async Task ReadInputsAsync(JsonMembers root, ModelInferRequest request, RequestBody body, string model, long maxInput,
        CancellationToken cancellationToken)
    {
        var inputs = Parse("inputs", () => root.Array("inputs"));
        foreach (var item in inputs.Items())
        {
            var input = item.Members();
            JsonMembers? parameters = input.TryGet("parameters", out var p) ? p.Members() : null;
            CheckContent(input, parameters);
            string name = Parse("name", () => input.String("name"));
            string datatype = Parse("datatype", () => input.String("datatype"));
            var shape = Parse("shape", () => input.Array("shape")).Items();
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype };
            foreach (var dim in shape)
            {
                tensor.Shape.Add(unchecked((long)Parse("shape", dim.AsUInt)));
            }

            request.Inputs.Add(tensor);
            if (parameters != null && parameters.TryGet("binary_data_size", out var sizeValue))
            {
                ulong size = Parse("binary_data_size", sizeValue.AsUInt);
                request.RawInputContents.Add(await ReadBinaryAsync(body, name, size, model, cancellationToken).ConfigureAwait(false));
            }
            else if (parameters != null && parameters.Has(SharedMemoryLocation.RegionKey))
            {
                var (region, offset, byteSize) = SharedMemory(parameters);
                tensor.Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = region };
                tensor.Parameters[SharedMemoryLocation.OffsetKey] = new InferParameter { Int64Param = offset };
                tensor.Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = byteSize };
            }
            else
            {
                long elements = ElementCount(name, tensor.Shape);
                byte[] raw = elements == 0 ? []
                    : JsonTensorData.Read(name, input.TryGet("data", out var data) ? data : default, TensorDataTypeOf(datatype), elements, maxInput);
                request.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(raw));
            }
        }

        if (!await body.AtEndAsync(cancellationToken).ConfigureAwait(false))
        {
            throw Invalid($"unexpected additional input data for model '{TritonErrors.Echo(model)}'");
        }
    }

    /// <summary>Exactly one of <c>data</c>, <c>parameters.binary_data_size</c> and <c>parameters.shared_memory_region</c>.</summary>
    private static void CheckContent(JsonMembers input, JsonMembers? parameters)
    {
        bool data = input.Has("data");
        bool binary = parameters?.Has("binary_data_size") == true;
        bool shm = parameters?.Has(SharedMemoryLocation.RegionKey) == true;
        int set = (data ? 1 : 0) + (binary ? 1 : 0) + (shm ? 1 : 0);
        if (set == 1)
        {
            return;
        }

        var message = new System.Text.StringBuilder(
            "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But");
        if (set == 0)
        {
            message.Append(" no field is set");
        }
        else
        {
            message.Append(" set");
            message.Append(data ? " 'data'" : "").Append(binary ? " 'binary_data_size'" : "").Append(shm ? " 'shared_memory_region'" : "");
        }

        throw Invalid(message.ToString());
    }

    /// <summary>The next <paramref name="size"/> bytes of the body, or Triton's shortfall error.</summary>
    private static async Task<ByteString> ReadBinaryAsync(RequestBody body, string input, ulong size, string model, CancellationToken cancellationToken)
    {
        if (size == 0)
        {
            return ByteString.Empty;
        }

        long want = (long)Math.Min(size, long.MaxValue);
        if (body.Remaining is long left && left < want)
        {
            throw Shortfall(input, size - (ulong)Math.Max(0, left), model);
        }

        var bytes = await body.ReadAsync(want, cancellationToken).ConfigureAwait(false);
        if ((ulong)bytes.Length < size)
        {
            throw Shortfall(input, size - (ulong)bytes.Length, model);
        }

        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static RpcException Shortfall(string input, ulong missing, string model) =>
        Invalid($"unexpected size for input '{TritonErrors.Echo(input)}', expecting {missing} additional bytes for model '{TritonErrors.Echo(model)}'");

    /// <summary>The shared-memory location of a tensor: HTTP's offset and byte size are optional and default to 0.</summary>
    private static (string Region, long Offset, long ByteSize) SharedMemory(JsonMembers parameters)
    {
        string region = Parse(SharedMemoryLocation.RegionKey, () => parameters.String(SharedMemoryLocation.RegionKey));
        ulong offset = parameters.TryGet(SharedMemoryLocation.OffsetKey, out var o) ? Parse(SharedMemoryLocation.OffsetKey, o.AsUInt) : 0;
        ulong size = parameters.TryGet(SharedMemoryLocation.ByteSizeKey, out var s) ? Parse(SharedMemoryLocation.ByteSizeKey, s.AsUInt) : 0;
        return (region, (long)Math.Min(offset, long.MaxValue), (long)Math.Min(size, long.MaxValue));
    }

    /// <summary>Triton's element count of a JSON input: 0 when a dimension is 0 (or there are none), an error for a
    /// negative one or an overflow.</summary>
    private static long ElementCount(string input, IReadOnlyList<long> shape)
    {
        long count = 0;
        bool first = true;
        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                throw Invalid($"invalid shape for input '{TritonErrors.Echo(input)}': shape {TensorShape.Format(shape)} contains one or more invalid dimensions");
            }

            if (dim == 0)
            {
                return 0;
            }

            if (first)
            {
                count = dim;
                first = false;
            }
            else if (count > long.MaxValue / dim)
            {
                throw Invalid($"invalid shape for input '{TritonErrors.Echo(input)}': shape {TensorShape.Format(shape)} causes total element count to exceed maximum size of {long.MaxValue}");
            }
            else
            {
                count *= dim;
            }
        }

        return count;
    }

    private static TensorDataType TensorDataTypeOf(string datatype) =>
        TensorDataTypes.TryParse(datatype, out var type) ? type : TensorDataType.Invalid;

    private static void ReadOutputs(JsonMembers root, ModelInferRequest request, Dictionary<string, OutputForm> forms)
    {
        if (!root.Has("outputs"))
        {
            return;
        }

        foreach (var item in Parse("outputs", () => root.Array("outputs")).Items())
        {
            var output = item.Members();
            JsonMembers? parameters = output.TryGet("parameters", out var p) ? p.Members() : null;
            if (parameters != null && parameters.Has(SharedMemoryLocation.RegionKey))
            {
                if (parameters.Has("classification"))
                {
                    throw Invalid($"Output can't set both '{SharedMemoryLocation.RegionKey}' and 'classification'");
                }

                if (parameters.TryGet("binary_data", out var b) && Parse("binary_data", b.AsBool, "Unable to set"))
                {
                    throw Invalid($"Output can't set both '{SharedMemoryLocation.RegionKey}' and 'binary_data'");
                }
            }

            string name = Parse("name", () => output.String("name"));
            var tensor = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name };
            request.Outputs.Add(tensor);
            ulong classes = parameters != null && parameters.TryGet("classification", out var c) ? Parse("classification", c.AsUInt, "Unable to set") : 0;
            if (classes > 0)
            {
                tensor.Parameters["classification"] = new InferParameter { Int64Param = (long)Math.Min(classes, long.MaxValue) };
            }

            if (parameters != null && parameters.Has(SharedMemoryLocation.RegionKey))
            {
                var (region, offset, byteSize) = SharedMemory(parameters);
                tensor.Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = region };
                tensor.Parameters[SharedMemoryLocation.OffsetKey] = new InferParameter { Int64Param = offset };
                tensor.Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = byteSize };
                forms[name] = OutputForm.SharedMemory;
            }
            else
            {
                bool binary = parameters != null && parameters.TryGet("binary_data", out var b) && Parse("binary_data", b.AsBool);
                forms[name] = binary ? OutputForm.Binary : OutputForm.Json;
            }
        }
    }

    /// <summary>A raw binary request (<c>Inference-Header-Content-Length: 0</c>): the whole body is the data of the
    /// model's only input, whose datatype and shape are deduced from the model as Triton's core does; every output
    /// comes back binary.</summary>
    private static async Task<InferPlan> ReadRawAsync(RequestBody body, ModelDescriptor model, string name, string version, long maxInput,
        CancellationToken cancellationToken)
    {
        if (body.Remaining is long known && known > maxInput)
        {
            throw HttpLimits.RawTooLarge(known, maxInput);
        }

        var bytes = await body.ReadAsync(body.Remaining ?? maxInput + 1, cancellationToken).ConfigureAwait(false);
        if (bytes.Length > maxInput)
        {
            throw HttpLimits.RawTooLarge(bytes.Length, maxInput);
        }

        string prefix = TritonErrors.RequestPrefix("");
        var inputs = model.Config.Input;
        if (inputs.Count != 1)
        {
            throw Invalid($"{prefix}Raw request must only have 1 input (found 1) to be deduced but got {inputs.Count} inputs in '{TritonErrors.Echo(name)}' model configuration");
        }

        var declared = inputs[0];
        var type = TensorDataTypes.FromConfig(declared.DataType);
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = declared.Name, Datatype = type.WireName() };
        if (model.Config.MaxBatchSize != 0)
        {
            tensor.Shape.Add(1);
        }

        int dynamic = -1;
        long fixedElements = 1;
        foreach (long dim in declared.Dims)
        {
            if (dim == -1)
            {
                if (dynamic != -1)
                {
                    throw Invalid($"{prefix}The shape of the raw input '{TritonErrors.Echo(declared.Name)}' can not be deduced because there are more than one variable-sized dimension");
                }

                dynamic = tensor.Shape.Count;
            }
            else
            {
                fixedElements *= dim;
            }

            tensor.Shape.Add(dim);
        }

        ByteString raw;
        if (type == TensorDataType.Bytes)
        {
            if (dynamic != -1 || fixedElements != 1)
            {
                throw Invalid($"{prefix}For BYTE datatype raw input '{TritonErrors.Echo(declared.Name)}', the model must have input shape [1]");
            }

            // The body is one element: Triton prepends its length.
            var framed = new byte[BytesTensor.PrefixSize + bytes.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(framed, (uint)bytes.Length);
            bytes.Span.CopyTo(framed.AsSpan(BytesTensor.PrefixSize));
            raw = UnsafeByteOperations.UnsafeWrap(framed);
        }
        else
        {
            long per = fixedElements * type.ElementSize();
            if (dynamic != -1)
            {
                tensor.Shape[dynamic] = per == 0 ? 0 : bytes.Length / per;
            }

            raw = UnsafeByteOperations.UnsafeWrap(bytes);
        }

        var request = new ModelInferRequest { ModelName = name, ModelVersion = version };
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(raw);
        return new InferPlan(request, OutputForm.Binary, new Dictionary<string, OutputForm>(StringComparer.Ordinal));
    }

    /// <summary>Runs a JSON accessor and puts Triton's <c>Unable to parse '&lt;field&gt;': </c> in front of its error.</summary>
    private static T Parse<T>(string field, Func<T> read, string verb = "Unable to parse")
    {
        try
        {
            return read();
        }
        catch (RpcException e)
        {
            throw JsonView.Prefixed($"{verb} '{field}'", e);
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
