using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Bench;

/// <summary>Builds ModelInfer requests for a model from its ModelMetadata: every input with a concrete
/// shape and random contents of its datatype, sent as <c>raw_input_contents</c>.
/// <list type="bullet">
/// <item>A model batches when every input's metadata shape starts with -1 (Triton prepends -1 for
/// max_batch_size &gt; 0). Its inputs get shape [batch, dims…]; other models' inputs get their dims
/// and the batch size is not used. Any other -1 dimension becomes 1.</item>
/// <item>Contents: BOOL 0 or 1; integer types whole numbers in [0, 100) (safe as indices); FP16,
/// BF16, FP32, FP64 numbers in [0, 1); BYTES 1–16 random letters and digits per element, in the raw
/// format (4-byte little-endian length, then the bytes).</item>
/// </list></summary>
public static class RequestGenerator
{
    /// <summary>Largest element count of one generated input.</summary>
    public const long MaxElementsPerInput = 1L << 26;

    /// <summary>Memory the request pool may take; fewer distinct requests are built for large inputs.</summary>
    public const long PoolByteBudget = 64L << 20;

    /// <summary>Most distinct requests in a pool.</summary>
    public const int MaxPoolSize = 64;

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>True when the model batches: it has inputs and each input's shape starts with -1.</summary>
    public static bool IsBatched(ModelMetadataResponse metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.Inputs.Count > 0 && metadata.Inputs.All(i => i.Shape.Count > 0 && i.Shape[0] == -1);
    }

    /// <summary>The request shape of <paramref name="input"/>: [batch, dims…] for a batching model
    /// (the leading -1 replaced), otherwise the dims; other -1 dims become 1.</summary>
    public static long[] InputShape(ModelMetadataResponse.Types.TensorMetadata input, bool batched, int batch)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = new long[input.Shape.Count];
        for (int d = 0; d < shape.Length; d++)
        {
            long dim = input.Shape[d];
            shape[d] = d == 0 && batched ? batch : dim == -1 ? 1 : dim;
        }

        return shape;
    }

    /// <summary>Builds one request with fresh random contents.</summary>
    /// <exception cref="NotSupportedException">An input has an unknown datatype or an invalid or too large shape.</exception>
    public static ModelInferRequest Create(ModelMetadataResponse metadata, string model, int batch, Random random)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        bool batched = IsBatched(metadata);
        var request = new ModelInferRequest { ModelName = model };
        foreach (var input in metadata.Inputs)
        {
            if (!TensorDataTypes.TryParse(input.Datatype, out var type))
            {
                throw new NotSupportedException($"input '{input.Name}' of model '{model}' has datatype '{input.Datatype}', which the bench cannot generate");
            }

            long[] shape = InputShape(input, batched, batch);
            string? error = TensorShape.TryElementCount($"input '{input.Name}' of model '{model}'", shape, MaxElementsPerInput, out long count);
            if (error is not null)
            {
                throw new NotSupportedException(error);
            }

            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.Datatype };
            tensor.Shape.AddRange(shape);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(Contents(type, (int)count, random)));
        }

        return request;
    }

    /// <summary>Builds distinct requests to cycle through while measuring: up to <see cref="MaxPoolSize"/>,
    /// fewer when they would take more than <see cref="PoolByteBudget"/>, at least one.</summary>
    /// <exception cref="NotSupportedException">As <see cref="Create"/>.</exception>
    public static IReadOnlyList<ModelInferRequest> CreatePool(ModelMetadataResponse metadata, string model, int batch, int seed)
    {
        var random = new Random(seed);
        var first = Create(metadata, model, batch, random);
        long bytes = Math.Max(1, first.RawInputContents.Sum(c => (long)c.Length));
        int size = (int)Math.Clamp(PoolByteBudget / bytes, 1, MaxPoolSize);
        var pool = new List<ModelInferRequest>(size) { first };
        while (pool.Count < size)
        {
            pool.Add(Create(metadata, model, batch, random));
        }

        return pool;
    }

    private static byte[] Contents(TensorDataType type, int count, Random random)
    {
        if (type == TensorDataType.Bytes)
        {
            return RandomStrings(count, random);
        }

        int size = type.ElementSize();
        var buffer = new byte[(long)count * size];
        var span = buffer.AsSpan();
        for (int i = 0; i < count; i++)
        {
            var e = span.Slice(i * size, size);
            switch (type)
            {
                case TensorDataType.Bool:
                    e[0] = (byte)random.Next(2);
                    break;
                case TensorDataType.UInt8 or TensorDataType.Int8:
                    e[0] = (byte)random.Next(100);
                    break;
                case TensorDataType.UInt16 or TensorDataType.Int16:
                    BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)random.Next(100));
                    break;
                case TensorDataType.UInt32 or TensorDataType.Int32:
                    BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)random.Next(100));
                    break;
                case TensorDataType.UInt64 or TensorDataType.Int64:
                    BinaryPrimitives.WriteUInt64LittleEndian(e, (ulong)random.Next(100));
                    break;
                case TensorDataType.Fp16:
                    BinaryPrimitives.WriteHalfLittleEndian(e, (Half)random.NextSingle());
                    break;
                case TensorDataType.Bf16:
                    // bfloat16 is the upper half of an IEEE float.
                    BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)(BitConverter.SingleToUInt32Bits(random.NextSingle()) >> 16));
                    break;
                case TensorDataType.Fp32:
                    BinaryPrimitives.WriteSingleLittleEndian(e, random.NextSingle());
                    break;
                case TensorDataType.Fp64:
                    BinaryPrimitives.WriteDoubleLittleEndian(e, random.NextDouble());
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, null);
            }
        }

        return buffer;
    }

    private static byte[] RandomStrings(int count, Random random)
    {
        var elements = new string[count];
        for (int i = 0; i < count; i++)
        {
            elements[i] = string.Create(random.Next(1, 17), random, static (chars, r) =>
            {
                for (int j = 0; j < chars.Length; j++)
                {
                    chars[j] = Alphabet[r.Next(Alphabet.Length)];
                }
            });
        }

        return BytesTensor.Encode(elements);
    }
}
