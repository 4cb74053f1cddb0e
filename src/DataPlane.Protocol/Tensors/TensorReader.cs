using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace DataPlane.Protocol.Tensors;

/// <summary>Reads and strictly validates the tensors of requests and responses: datatype names,
/// shapes, byte sizes, BYTES element framing, the limits, and that raw and typed contents are
/// never mixed. Every failure is a message that names the tensor and the numbers; callers turn
/// it into INVALID_ARGUMENT (request) or INTERNAL (upstream response).</summary>
public static class TensorReader
{
    /// <summary>Reads the inputs of a request. <paramref name="typed"/> tells whether the request
    /// used typed contents.</summary>
    public static string? TryReadInputs(ModelInferRequest request, TensorLimits limits, out Tensor[] inputs, out bool typed) =>
        TryReadInputs(request, limits, null, out inputs, out typed)?.Message;

    /// <summary>Reads the inputs of a request with Triton's framing rules: <c>raw_input_contents[k]</c> belongs to
    /// the k-th input that has neither typed contents nor a shared-memory location (extra entries are ignored, as
    /// Triton does); typed contents and raw contents are not mixed; inputs in shared memory are copied out of their
    /// region (<paramref name="sharedMemory"/>; null: no regions, so any such input is an unknown region).
    /// <paramref name="typed"/> tells whether the request used typed contents.</summary>
    public static RequestError? TryReadInputs(ModelInferRequest request, TensorLimits limits, SharedMemoryRegions? sharedMemory,
        out Tensor[] inputs, out bool typed)
    {
        inputs = [];
        typed = false;
        var list = request.Inputs;
        if (list.Count == 0)
        {
            return RequestError.Invalid("request has no inputs");
        }

        if (list.Count > limits.MaxTensors)
        {
            return RequestError.Invalid($"request has {list.Count} inputs, more than the limit of {limits.MaxTensors}");
        }

        string model = TritonErrors.Echo(request.ModelName);
        var raw = request.RawInputContents;
        bool useRaw = raw.Count > 0;
        int nextRaw = 0;
        var result = new Tensor[list.Count];
        for (int i = 0; i < list.Count; i++)
        {
            var input = list[i];
            var what = new TensorLabel("input", input.Name, Echo: true);
            if (string.IsNullOrEmpty(input.Name))
            {
                return RequestError.Invalid($"input {i} has no name");
            }

            for (int j = 0; j < i; j++)
            {
                if (list[j].Name == input.Name)
                {
                    return RequestError.Invalid($"{TritonErrors.RequestPrefix(request.Id)}input '{TritonErrors.Echo(input.Name)}' already exists in request");
                }
            }

            var context = new InputContext(request.Id, TritonErrors.Echo(input.Name), model);
            var locationError = SharedMemoryLocation.TryParse(input.Name, input.Parameters, out var location);
            if (locationError != null)
            {
                return locationError;
            }

            Tensor? tensor;
            string? error;
            if (location is { } at)
            {
                if (input.Contents != null)
                {
                    return RequestError.Invalid($"unexpected 'content' provided when using shared memory for input tensor '{TritonErrors.Echo(input.Name)}' for model '{model}'");
                }

                if (sharedMemory == null)
                {
                    return new RequestError(Grpc.Core.StatusCode.NotFound, $"Unable to find shared memory region: '{TritonErrors.Echo(at.Region)}'");
                }

                var shmError = sharedMemory.TryRead(at, limits.MaxBytesPerTensor, out byte[] bytes);
                if (shmError != null)
                {
                    return shmError;
                }

                error = TryRead(what, input.Name, input.Datatype, input.Shape, null, bytes, RawField.Region(at.Region), limits, out tensor, context);
            }
            else if (useRaw)
            {
                if (input.Contents != null)
                {
                    return RequestError.Invalid($"contents field must not be specified when using raw_input_contents for '{TritonErrors.Echo(input.Name)}' for model '{model}'");
                }

                if (nextRaw >= raw.Count)
                {
                    return RequestError.Invalid($"unable to find data for input tensor '{TritonErrors.Echo(input.Name)}' for model '{model}' in request.");
                }

                error = TryRead(what, input.Name, input.Datatype, input.Shape, null, raw[nextRaw].Memory, new RawField("raw_input_contents", nextRaw), limits, out tensor, context);
                nextRaw++;
            }
            else
            {
                typed = true;
                error = TryRead(what, input.Name, input.Datatype, input.Shape, input.Contents, null, new RawField("raw_input_contents"), limits, out tensor);
            }

            if (error != null)
            {
                return RequestError.Invalid(error);
            }

            result[i] = tensor!;
        }

        inputs = result;
        return null;
    }

    /// <summary>True when an input or a requested output of <paramref name="request"/> names shared memory.</summary>
    public static bool UsesSharedMemory(ModelInferRequest request)
    {
        foreach (var input in request.Inputs)
        {
            if (SharedMemoryLocation.IsPresent(input.Parameters))
            {
                return true;
            }
        }

        foreach (var output in request.Outputs)
        {
            if (SharedMemoryLocation.IsPresent(output.Parameters))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the outputs of a response (from upstream).</summary>
    public static string? TryReadOutputs(ModelInferResponse response, TensorLimits limits, out Tensor[] outputs)
    {
        outputs = [];
        var list = response.Outputs;
        var raw = response.RawOutputContents;
        bool useRaw = raw.Count > 0;
        if (useRaw && raw.Count != list.Count)
        {
            return $"raw_output_contents has {raw.Count} entries but the response has {list.Count} outputs";
        }

        var result = new Tensor[list.Count];
        for (int i = 0; i < list.Count; i++)
        {
            var output = list[i];
            var what = new TensorLabel("output", output.Name, Echo: false);
            if (useRaw && output.Contents != null)
            {
                return $"{what} sets contents while the response uses raw_output_contents";
            }

            string? error = TryRead(what, output.Name, output.Datatype, output.Shape, useRaw ? null : output.Contents,
                useRaw ? raw[i].Memory : (ReadOnlyMemory<byte>?)null, new RawField("raw_output_contents", useRaw ? i : -1), limits, out var tensor);
            if (error != null)
            {
                return error;
            }

            result[i] = tensor!;
        }

        outputs = result;
        return null;
    }

    private static string? TryRead(
        TensorLabel what, string name, string datatype, RepeatedField<long> shape, InferTensorContents? contents,
        ReadOnlyMemory<byte>? raw, RawField rawField, TensorLimits limits, out Tensor? tensor, InputContext? input = null)
    {
        tensor = null;
        if (!TensorDataTypes.TryParse(datatype, out var type))
        {
            return $"{what}: unknown datatype '{datatype}'; expected one of " +
                string.Join(", ", TensorDataTypes.All.Select(t => t.WireName()));
        }

        string? error = TensorShape.TryElementCount(what, shape, limits.MaxElementsPerTensor, out long count);
        if (error != null)
        {
            return error;
        }

        ReadOnlyMemory<byte> bytes;
        if (raw != null)
        {
            bytes = raw.Value;
            error = CheckRaw(what, type, shape, count, bytes.Span, rawField, limits, input);
        }
        else if (contents != null && TypedContents.HasAnyValues(contents))
        {
            error = TypedContents.Validate(what, type, contents, count, limits.MaxBytesElementLength);
            bytes = error == null ? TypedContents.ToRaw(type, contents) : default;
            if (error == null && bytes.Length > limits.MaxBytesPerTensor)
            {
                error = $"{what}: contents take {bytes.Length} bytes, more than the limit of {limits.MaxBytesPerTensor}";
            }
        }
        else if (count == 0)
        {
            bytes = ReadOnlyMemory<byte>.Empty;
        }
        else if (type.HasTypedContents())
        {
            return $"{what}: no data; shape {TensorShape.Format(shape)} needs {count} elements in {TypedContents.FieldName(type)} or in {rawField}";
        }
        else
        {
            return $"{what}: no data; datatype {type.WireName()} must be sent in {rawField}";
        }

        if (error != null)
        {
            return error;
        }

        tensor = new Tensor(name, type, shape, count, bytes);
        return null;
    }

    private static string? CheckRaw(TensorLabel what, TensorDataType type, RepeatedField<long> shape, long count, ReadOnlySpan<byte> raw,
        RawField rawField, TensorLimits limits, InputContext? input)
    {
        if (raw.Length > limits.MaxBytesPerTensor)
        {
            return $"{what}: {rawField} has {raw.Length} bytes, more than the limit of {limits.MaxBytesPerTensor}";
        }

        if (type == TensorDataType.Bytes)
        {
            return BytesTensor.Validate(what, raw, count, limits.MaxBytesElementLength);
        }

        int size = type.ElementSize();
        long expected = count * size;
        if (raw.Length != expected && input is { } i)
        {
            return $"{TritonErrors.RequestPrefix(i.RequestId)}input byte size mismatch for input '{i.Name}' for model '{i.Model}'. Expected {expected}, got {raw.Length} " +
                $"({rawField}: shape {TensorShape.Format(shape)} of {type.WireName()} is {count} elements × {size} bytes)";
        }

        if (raw.Length != expected)
        {
            return $"{what}: {rawField} has {raw.Length} bytes but shape {TensorShape.Format(shape)} of {type.WireName()} " +
                $"needs {expected} ({count} elements × {size} bytes)";
        }

        if (type == TensorDataType.Bool)
        {
            int bad = raw.IndexOfAnyExcept((byte)0, (byte)1);
            if (bad >= 0)
            {
                return $"{what}: BOOL element {bad} is {raw[bad]}; only 0 and 1 are allowed";
            }
        }

        return null;
    }

    /// <summary>"input 'NAME'" or "output 'NAME'" in a message, formatted only when one is written (a request that
    /// passes formats nothing).</summary>
    private readonly record struct TensorLabel(string Kind, string Name, bool Echo)
    {
        public override string ToString() => $"{Kind} '{(Echo ? TritonErrors.Echo(Name) : Name)}'";
    }

    /// <summary>Where a tensor's bytes came from, in a message: a field (with the entry's index when it has one) or a
    /// shared-memory region; formatted only when a message is written.</summary>
    private readonly record struct RawField(string Field, int Index = -1, string? SharedRegion = null)
    {
        public static RawField Region(string region) => new("", -1, region);

        public override string ToString() =>
            SharedRegion != null ? $"shared memory region '{TritonErrors.Echo(SharedRegion)}'"
            : Index >= 0 ? $"{Field}[{Index}]"
            : Field;
    }

    /// <summary>Names an input in Triton's request messages (the request id's prefix is formatted only for a message).</summary>
    private readonly record struct InputContext(string RequestId, string Name, string Model);
}
