using DataPlane.Protocol.Inference;
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
    /// used typed contents (so the answer can use them too).</summary>
    public static string? TryReadInputs(ModelInferRequest request, TensorLimits limits, out Tensor[] inputs, out bool typed)
    {
        inputs = [];
        typed = false;
        var list = request.Inputs;
        if (list.Count == 0)
        {
            return "request has no inputs";
        }

        if (list.Count > limits.MaxTensors)
        {
            return $"request has {list.Count} inputs, more than the limit of {limits.MaxTensors}";
        }

        var raw = request.RawInputContents;
        bool useRaw = raw.Count > 0;
        if (useRaw && raw.Count != list.Count)
        {
            return $"raw_input_contents has {raw.Count} entries but the request has {list.Count} inputs; " +
                "give one entry per input, in the order of inputs";
        }

        var result = new Tensor[list.Count];
        for (int i = 0; i < list.Count; i++)
        {
            var input = list[i];
            string what = $"input '{input.Name}'";
            if (string.IsNullOrEmpty(input.Name))
            {
                return $"input {i} has no name";
            }

            for (int j = 0; j < i; j++)
            {
                if (list[j].Name == input.Name)
                {
                    return $"{what} appears more than once (inputs {j} and {i})";
                }
            }

            if (useRaw && input.Contents != null)
            {
                return $"{what} sets contents while the request uses raw_input_contents; raw and typed contents cannot be mixed";
            }

            string? error = TryRead(what, input.Name, input.Datatype, input.Shape, useRaw ? null : input.Contents,
                useRaw ? raw[i] : null, useRaw ? $"raw_input_contents[{i}]" : "raw_input_contents", limits, out var tensor);
            if (error != null)
            {
                return error;
            }

            result[i] = tensor!;
        }

        typed = !useRaw;
        inputs = result;
        return null;
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
            string what = $"output '{output.Name}'";
            if (useRaw && output.Contents != null)
            {
                return $"{what} sets contents while the response uses raw_output_contents";
            }

            string? error = TryRead(what, output.Name, output.Datatype, output.Shape, useRaw ? null : output.Contents,
                useRaw ? raw[i] : null, useRaw ? $"raw_output_contents[{i}]" : "raw_output_contents", limits, out var tensor);
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
        string what, string name, string datatype, RepeatedField<long> shape, InferTensorContents? contents,
        ByteString? raw, string rawField, TensorLimits limits, out Tensor? tensor)
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
            bytes = raw.Memory;
            error = CheckRaw(what, type, shape, count, bytes.Span, rawField, limits);
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

    private static string? CheckRaw(string what, TensorDataType type, RepeatedField<long> shape, long count, ReadOnlySpan<byte> raw,
        string rawField, TensorLimits limits)
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
}
