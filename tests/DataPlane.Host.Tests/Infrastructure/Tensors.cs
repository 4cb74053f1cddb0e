using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Host.Tests.Infrastructure;

/// <summary>Builds requests with deterministic, distinct contents for the tests.</summary>
public static class Tensors
{
    /// <summary>A raw request for an echo or simple model with INPUT0 of <paramref name="type"/>.</summary>
    public static ModelInferRequest Raw(string model, TensorDataType type, long[] shape, byte[] raw, string id = "")
    {
        var r = new ModelInferRequest { ModelName = model, Id = id };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = type.WireName() };
        input.Shape.Add(shape);
        r.Inputs.Add(input);
        r.RawInputContents.Add(ByteString.CopyFrom(raw));
        return r;
    }

    /// <summary>Random valid raw contents of <paramref name="elements"/> elements.</summary>
    public static byte[] RandomRaw(Random random, TensorDataType type, long elements)
    {
        if (type == TensorDataType.Bytes)
        {
            return BytesTensor.Encode(Enumerable.Range(0, (int)elements)
                .Select(_ => new string((char)random.Next('a', 'z' + 1), random.Next(0, 9))).ToArray());
        }

        var b = new byte[elements * type.ElementSize()];
        random.NextBytes(b);
        if (type == TensorDataType.Bool)
        {
            for (int i = 0; i < b.Length; i++)
            {
                b[i] &= 1;
            }
        }

        return b;
    }

    /// <summary>The raw bytes of OUTPUT0 of a response, whichever encoding it used.</summary>
    public static byte[] Output0(ModelInferResponse response)
    {
        Assert.True(TensorReader.TryReadOutputs(response, TensorLimits.Default, out var outputs) == null, "response is malformed");
        return outputs.Single(o => o.Name == "OUTPUT0").Raw.ToArray();
    }

    /// <summary>FP32 INPUT0 for model `simple` ([rows, 16]) whose values encode <paramref name="seed"/>.</summary>
    public static ModelInferRequest Simple(int rows, float seed, string id = "")
    {
        var values = new float[rows * 16];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = seed + (i * 0.001f);
        }

        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return Raw("simple", TensorDataType.Fp32, [rows, 16], bytes, id);
    }
}
