using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using DataPlane.Protocol;
using DataPlane.Protocol.Tensors;
using Grpc.Core;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>The <c>data</c> of a JSON input, read into the raw little-endian encoding the batcher sends upstream, with
/// the rules and texts of Triton's HTTP front end: nested or flat arrays are read in row-major order, each element must
/// be of its datatype's JSON type, FP16 and BF16 are refused, BYTES elements are JSON strings, and the element count
/// must match the shape. Nothing is allocated beyond what the array actually holds.</summary>
internal static class JsonTensorData
{
    private const string Shape = "Shape does not match true shape of 'data' field";

    /// <summary>The raw bytes of <paramref name="data"/> for an input of <paramref name="type"/> (Invalid when its
    /// datatype string is unknown) and <paramref name="elements"/> elements (&gt; 0).</summary>
    public static byte[] Read(string input, JsonView data, TensorDataType type, long elements, long maxBytes)
    {
        if (!data.IsArray)
        {
            throw JsonView.Prefixed("Unable to parse 'data'", JsonView.Internal("attempt to access JSON non-array as array"));
        }

        long byteSize;
        if (type == TensorDataType.Bytes)
        {
            byteSize = BytesSize(data);
        }
        else
        {
            int size = type == TensorDataType.Invalid ? 0 : type.ElementSize();
            if (size > 1 && elements > long.MaxValue / size)
            {
                throw Invalid($"byte size overflow for input '{TritonErrors.Echo(input)}': element count ({elements}) * data type size ({size}) " +
                    $"exceeds maximum allowed size ({long.MaxValue})");
            }

            byteSize = elements * size;
        }

        if (byteSize > maxBytes)
        {
            throw Invalid($"JSON input '{TritonErrors.Echo(input)}' has a byte_size ({byteSize} bytes) that exceeds the maximum allowed value of " +
                $"{maxBytes} bytes. {HttpLimits.Advice}");
        }

        switch (type)
        {
            case TensorDataType.Fp16:
            case TensorDataType.Bf16:
                throw Invalid($"receiving {type.WireName()} data via JSON is not supported. Please use the binary data format for input {TritonErrors.Echo(input)}");
            case TensorDataType.Invalid:
                throw Invalid($"invalid datatype for input {TritonErrors.Echo(input)}");
            case TensorDataType.Bytes:
                return ReadBytes(data, byteSize);
            default:
                return ReadNumbers(data, type, elements);
        }
    }

    private static byte[] ReadNumbers(JsonView data, TensorDataType type, long expected)
    {
        long present = Count(data);
        int size = type.ElementSize();
        long take = Math.Min(present, expected);
        var raw = new byte[take * size];
        var reader = JsonView.Reader(data.Raw.Span);
        reader.Read();
        long index = 0;
        try
        {
            while (index < take && NextScalar(ref reader))
            {
                WriteElement(ref reader, type, raw.AsSpan((int)(index * size), size));
                index++;
            }
        }
        catch (RpcException e)
        {
            throw JsonView.Prefixed("Unable to parse 'data'", e);
        }

        if (present != expected)
        {
            throw JsonView.Internal("Unable to parse 'data': " + Shape);
        }

        return raw;
    }

    /// <summary>The serialized size of a BYTES array: each string's bytes plus its 4-byte length.</summary>
    private static long BytesSize(JsonView data)
    {
        var reader = JsonView.Reader(data.Raw.Span);
        reader.Read();
        long total = 0;
        while (NextScalar(ref reader))
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw JsonView.Internal("Unable to parse JSON bytes array: attempt to access JSON non-string as string");
            }

            total += StringLength(ref reader) + BytesTensor.PrefixSize;
        }

        return total;
    }

    private static byte[] ReadBytes(JsonView data, long byteSize)
    {
        var raw = new byte[byteSize];
        var reader = JsonView.Reader(data.Raw.Span);
        reader.Read();
        int pos = 0;
        while (NextScalar(ref reader))
        {
            int length = reader.ValueIsEscaped
                ? reader.CopyString(raw.AsSpan(pos + BytesTensor.PrefixSize))
                : Copy(reader.ValueSpan, raw.AsSpan(pos + BytesTensor.PrefixSize));
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(pos), (uint)length);
            pos += BytesTensor.PrefixSize + length;
        }

        return raw;
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    private static long StringLength(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.Length;
        }

        byte[] scratch = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        try
        {
            return reader.CopyString(scratch);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Elements of a nested array, counted as Triton reads them: every value that is not an array is one.</summary>
    private static long Count(JsonView data)
    {
        var reader = JsonView.Reader(data.Raw.Span);
        reader.Read();
        long count = 0;
        while (NextScalar(ref reader))
        {
            count++;
        }

        return count;
    }

    /// <summary>Moves to the next element that is not an array (objects count as one element, skipped whole); false
    /// at the end of the outermost array.</summary>
    private static bool NextScalar(ref Utf8JsonReader reader)
    {
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    continue;
                case JsonTokenType.EndArray:
                    if (reader.CurrentDepth == 0)
                    {
                        return false;
                    }

                    continue;
                case JsonTokenType.StartObject:
                    reader.Skip(); // an object is one (invalid) element; the reader is left on its end
                    return true;
                default:
                    return true;
            }
        }

        return false;
    }

    private static void WriteElement(ref Utf8JsonReader reader, TensorDataType type, Span<byte> to)
    {
        var token = reader.TokenType;
        switch (type)
        {
            case TensorDataType.Bool:
                to[0] = token switch
                {
                    JsonTokenType.True => 1,
                    JsonTokenType.False => 0,
                    _ => throw JsonView.Internal("attempt to access JSON non-boolean as boolean"),
                };
                break;
            case TensorDataType.UInt8:
            case TensorDataType.UInt16:
            case TensorDataType.UInt32:
            case TensorDataType.UInt64:
                if (token != JsonTokenType.Number || !reader.TryGetUInt64(out ulong u))
                {
                    throw JsonView.Internal("attempt to access JSON non-unsigned-integer as unsigned-integer");
                }

                WriteInteger(to, u);
                break;
            case TensorDataType.Int8:
            case TensorDataType.Int16:
            case TensorDataType.Int32:
            case TensorDataType.Int64:
                if (token != JsonTokenType.Number || !reader.TryGetInt64(out long s))
                {
                    throw JsonView.Internal("attempt to access JSON non-signed-integer as signed-integer");
                }

                WriteInteger(to, unchecked((ulong)s));
                break;
            case TensorDataType.Fp32:
                BinaryPrimitives.WriteSingleLittleEndian(to, (float)Double(ref reader, token));
                break;
            default:
                BinaryPrimitives.WriteDoubleLittleEndian(to, Double(ref reader, token));
                break;
        }
    }

    private static double Double(ref Utf8JsonReader reader, JsonTokenType token) =>
        token == JsonTokenType.Number ? reader.GetDouble() : throw JsonView.Internal("attempt to access JSON non-number as double");

    /// <summary>The low bytes of <paramref name="value"/>, little-endian, as C's narrowing casts keep them.</summary>
    private static void WriteInteger(Span<byte> to, ulong value)
    {
        Span<byte> all = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(all, value);
        all[..to.Length].CopyTo(to);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
