using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>An inference answer in Triton's HTTP form: the JSON (<c>id</c> when set, <c>model_name</c>,
/// <c>model_version</c>, <c>parameters</c> when any, <c>outputs</c>) and, after it, the bytes of the outputs answered
/// binary with more than zero bytes, in the order the outputs appear.</summary>
internal sealed class InferAnswer(ArrayBufferWriter<byte> json, List<ReadOnlyMemory<byte>> blobs)
{
    public ReadOnlyMemory<byte> Json => json.WrittenMemory;

    public IReadOnlyList<ReadOnlyMemory<byte>> Blobs => blobs;

    public long Length => json.WrittenCount + blobs.Sum(b => (long)b.Length);
}

/// <summary>Writes a <see cref="ModelInferResponse"/> as Triton's HTTP front end answers: each output's <c>data</c> as a
/// flat row-major JSON array of its datatype's JSON type, or <c>parameters.binary_data_size</c> with the bytes appended,
/// or (outputs written to shared memory) only its name, datatype and shape.</summary>
internal static class InferResponseWriter
{
    public static InferAnswer Write(ModelInferResponse response, InferPlan plan, string servedVersion)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        var blobs = new List<ReadOnlyMemory<byte>>();
        using var writer = new Utf8JsonWriter(buffer, HttpJsonWriter.Options);
        writer.WriteStartObject();
        if (response.Id.Length > 0)
        {
            writer.WriteString("id", response.Id);
        }

        writer.WriteString("model_name", response.ModelName);
        writer.WriteString("model_version", response.ModelVersion.Length > 0 ? response.ModelVersion : servedVersion);
        if (response.Parameters.Count > 0)
        {
            writer.WriteStartObject("parameters");
            foreach (var (key, value) in response.Parameters)
            {
                writer.WritePropertyName(key);
                HttpJsonWriter.WriteParameter(writer, value);
            }

            writer.WriteEndObject();
        }

        writer.WriteStartArray("outputs");
        for (int i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            writer.WriteStartObject();
            writer.WriteString("name", output.Name);
            writer.WriteString("datatype", output.Datatype);
            writer.WriteStartArray("shape");
            long elements = 1;
            foreach (long dim in output.Shape)
            {
                writer.WriteNumberValue(dim);
                elements *= dim;
            }

            writer.WriteEndArray();
            var form = plan.FormOf(output.Name);
            if (form != OutputForm.SharedMemory)
            {
                var raw = RawOf(response, i);
                if (form == OutputForm.Binary)
                {
                    writer.WriteStartObject("parameters");
                    writer.WriteNumber("binary_data_size", raw.Length);
                    writer.WriteEndObject();
                    if (raw.Length > 0)
                    {
                        blobs.Add(raw);
                    }
                }
                else
                {
                    writer.WriteStartArray("data");
                    WriteData(writer, output.Name, output.Datatype, raw.Span, elements);
                    writer.WriteEndArray();
                }
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        return new InferAnswer(buffer, blobs);
    }

    /// <summary>The bytes of output <paramref name="index"/>: its raw entry (Triton's form), or its typed contents.</summary>
    private static ReadOnlyMemory<byte> RawOf(ModelInferResponse response, int index)
    {
        if (index < response.RawOutputContents.Count)
        {
            return response.RawOutputContents[index].Memory;
        }

        var output = response.Outputs[index];
        return output.Contents != null && TensorDataTypes.TryParse(output.Datatype, out var type) && type.HasTypedContents()
            ? TypedContents.ToRaw(type, output.Contents)
            : ReadOnlyMemory<byte>.Empty;
    }

    private static void WriteData(Utf8JsonWriter writer, string name, string datatype, ReadOnlySpan<byte> raw, long elements)
    {
        if (!TensorDataTypes.TryParse(datatype, out var type))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Invalid data type for output tensor"));
        }

        if (type is TensorDataType.Fp16 or TensorDataType.Bf16)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"sending {type.WireName()} data via JSON is not supported. Please use the binary data format for output"));
        }

        if (type == TensorDataType.Bytes)
        {
            WriteStrings(writer, name, raw, elements);
            return;
        }

        int size = type.ElementSize();
        if (elements < 0 || raw.Length != elements * size)
        {
            throw ShapeMismatch(name);
        }

        for (int e = 0; e < elements; e++)
        {
            var x = raw.Slice(e * size, size);
            switch (type)
            {
                case TensorDataType.Bool:
                    writer.WriteBooleanValue(x[0] != 0);
                    break;
                case TensorDataType.UInt8:
                    writer.WriteNumberValue(x[0]);
                    break;
                case TensorDataType.UInt16:
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(x));
                    break;
                case TensorDataType.UInt32:
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(x));
                    break;
                case TensorDataType.UInt64:
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(x));
                    break;
                case TensorDataType.Int8:
                    writer.WriteNumberValue(unchecked((sbyte)x[0]));
                    break;
                case TensorDataType.Int16:
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(x));
                    break;
                case TensorDataType.Int32:
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(x));
                    break;
                case TensorDataType.Int64:
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(x));
                    break;
                case TensorDataType.Fp32:
                    HttpJsonWriter.WriteDouble(writer, BinaryPrimitives.ReadSingleLittleEndian(x));
                    break;
                default:
                    HttpJsonWriter.WriteDouble(writer, BinaryPrimitives.ReadDoubleLittleEndian(x));
                    break;
            }
        }
    }

    /// <summary>BYTES elements as JSON strings, byte for byte (as Triton writes them, without re-encoding).</summary>
    private static void WriteStrings(Utf8JsonWriter writer, string name, ReadOnlySpan<byte> raw, long elements)
    {
        int pos = 0;
        for (long e = 0; e < elements; e++)
        {
            if (raw.Length - pos < BytesTensor.PrefixSize)
            {
                throw ShapeMismatch(name);
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(raw[pos..]);
            pos += BytesTensor.PrefixSize;
            if (length > (uint)(raw.Length - pos))
            {
                throw ShapeMismatch(name);
            }

            HttpJsonWriter.WriteBytesString(writer, raw.Slice(pos, (int)length));
            pos += (int)length;
        }
    }

    private static RpcException ShapeMismatch(string output) =>
        new(new Status(StatusCode.Internal, $"output tensor shape does not match size of output for '{TritonErrors.Echo(output)}'"));
}

/// <summary>How the HTTP front end writes JSON: compact, UTF-8 kept as it is (as rapidjson writes it), numbers in
/// rapidjson's style.</summary>
internal static class HttpJsonWriter
{
    public static readonly JsonWriterOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static readonly byte[] s_hex = "0123456789ABCDEF"u8.ToArray();

    /// <summary>A double the way rapidjson prints it: shortest round-trip digits, <c>.0</c> on whole numbers, <c>e</c>
    /// exponents. NaN and infinities, which JSON cannot carry, are written as <c>NaN</c>, <c>Infinity</c> and
    /// <c>-Infinity</c> (what Python's json module reads).</summary>
    public static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (!double.IsFinite(value))
        {
            writer.WriteRawValue(double.IsNaN(value) ? "NaN"u8 : value > 0 ? "Infinity"u8 : "-Infinity"u8, skipInputValidation: true);
            return;
        }

        Span<byte> text = stackalloc byte[40];
        value.TryFormat(text, out int n, "R", CultureInfo.InvariantCulture);
        Span<byte> formatted = stackalloc byte[44];
        int m = 0;
        bool plain = true;
        for (int i = 0; i < n; i++)
        {
            byte c = text[i];
            if (c == (byte)'E')
            {
                plain = false;
                formatted[m++] = (byte)'e';
                if (i + 1 < n && text[i + 1] == (byte)'+')
                {
                    i++;
                }

                continue;
            }

            plain &= c != (byte)'.';
            formatted[m++] = c;
        }

        if (plain)
        {
            formatted[m++] = (byte)'.';
            formatted[m++] = (byte)'0';
        }

        writer.WriteRawValue(formatted[..m], skipInputValidation: true);
    }

    /// <summary>A JSON string of arbitrary bytes, escaped as rapidjson escapes (quote, backslash and control
    /// characters); other bytes are copied as they are.</summary>
    public static void WriteBytesString(Utf8JsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        int extra = 0;
        foreach (byte b in bytes)
        {
            extra += b < 0x20 || b == (byte)'"' || b == (byte)'\\' ? 5 : 0;
        }

        byte[]? rented = null;
        int size = bytes.Length + extra + 2;
        Span<byte> text = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size));
        int n = 0;
        text[n++] = (byte)'"';
        foreach (byte b in bytes)
        {
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                text[n++] = b;
                continue;
            }

            text[n++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"':
                case (byte)'\\':
                    text[n++] = b;
                    break;
                case (byte)'\b':
                    text[n++] = (byte)'b';
                    break;
                case (byte)'\f':
                    text[n++] = (byte)'f';
                    break;
                case (byte)'\n':
                    text[n++] = (byte)'n';
                    break;
                case (byte)'\r':
                    text[n++] = (byte)'r';
                    break;
                case (byte)'\t':
                    text[n++] = (byte)'t';
                    break;
                default:
                    text[n++] = (byte)'u';
                    text[n++] = (byte)'0';
                    text[n++] = (byte)'0';
                    text[n++] = s_hex[b >> 4];
                    text[n++] = s_hex[b & 0xF];
                    break;
            }
        }

        text[n++] = (byte)'"';
        writer.WriteRawValue(text[..n], skipInputValidation: true);
        if (rented != null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A request or response parameter as its JSON type.</summary>
    public static void WriteParameter(Utf8JsonWriter writer, InferParameter value)
    {
        switch (value.ParameterChoiceCase)
        {
            case InferParameter.ParameterChoiceOneofCase.BoolParam:
                writer.WriteBooleanValue(value.BoolParam);
                break;
            case InferParameter.ParameterChoiceOneofCase.Int64Param:
                writer.WriteNumberValue(value.Int64Param);
                break;
            case InferParameter.ParameterChoiceOneofCase.Uint64Param:
                writer.WriteNumberValue(value.Uint64Param);
                break;
            case InferParameter.ParameterChoiceOneofCase.DoubleParam:
                WriteDouble(writer, value.DoubleParam);
                break;
            case InferParameter.ParameterChoiceOneofCase.StringParam:
                writer.WriteStringValue(value.StringParam);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
