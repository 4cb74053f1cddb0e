using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Llm;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests.Infrastructure;

/// <summary>Builds requests and test data, and reads responses.</summary>
public static class Requests
{
    /// <summary>Valid raw contents of <paramref name="count"/> elements of <paramref name="type"/>:
    /// random but repeatable, with the type's extreme values first so that wrapping is exercised.</summary>
    public static byte[] Sample(TensorDataType type, int count, int seed = 42)
    {
        var random = new Random(seed);
        switch (type)
        {
            case TensorDataType.Bytes:
            {
                var elements = new ByteString[count];
                for (int i = 0; i < count; i++)
                {
                    var e = new byte[i == 0 ? 0 : random.Next(1, 12)];
                    random.NextBytes(e);
                    elements[i] = ByteString.CopyFrom(e);
                }

                return BytesTensor.Encode(elements);
            }

            case TensorDataType.Bool:
                return Enumerable.Range(0, count).Select(i => (byte)(i % 3 == 0 ? 1 : 0)).ToArray();
            case TensorDataType.Fp32:
            {
                var raw = new byte[count * 4];
                for (int i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), (float)((random.NextDouble() * 2000) - 1000));
                }

                return raw;
            }

            case TensorDataType.Fp64:
            {
                var raw = new byte[count * 8];
                for (int i = 0; i < count; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), (random.NextDouble() * 2e6) - 1e6);
                }

                return raw;
            }

            default:
            {
                int size = type.ElementSize();
                var raw = new byte[count * size];
                random.NextBytes(raw);
                if (count > 1 && type is not (TensorDataType.Fp16 or TensorDataType.Bf16))
                {
                    // Element 0: the maximum (all ones: unsigned max, signed -1); element 1: the signed maximum.
                    raw.AsSpan(0, size).Fill(0xFF);
                    raw.AsSpan(size, size).Fill(0xFF);
                    raw[(2 * size) - 1] = 0x7F;
                }

                return raw;
            }
        }
    }

    /// <summary>A request with one input, INPUT0, sent as raw contents.</summary>
    public static ModelInferRequest Raw(string model, TensorDataType type, long[] shape, byte[] raw, string name = "INPUT0")
    {
        var request = new ModelInferRequest { ModelName = model, Id = "req-" + model };
        request.Inputs.Add(Input(name, type, shape));
        request.RawInputContents.Add(ByteString.CopyFrom(raw));
        return request;
    }

    /// <summary>A request with one input, INPUT0, sent as typed contents.</summary>
    public static ModelInferRequest Typed(string model, TensorDataType type, long[] shape, byte[] raw)
    {
        var request = new ModelInferRequest { ModelName = model, Id = "typed-" + model };
        var input = Input("INPUT0", type, shape);
        input.Contents = TypedContents.FromRaw(type, raw);
        request.Inputs.Add(input);
        return request;
    }

    /// <summary>An FP32 request of <paramref name="rows"/> rows of 16 for the default <c>simple</c> model.</summary>
    public static ModelInferRequest Simple(int rows, string model = "simple") =>
        Raw(model, TensorDataType.Fp32, [rows, 16], Sample(TensorDataType.Fp32, rows * 16));

    public static ModelInferRequest.Types.InferInputTensor Input(string name, TensorDataType type, long[] shape)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = type.WireName() };
        input.Shape.Add(shape);
        return input;
    }

    /// <summary>An LLM request: <c>text_input</c> BYTES [1] and, when given, <c>max_tokens</c> INT32 [1].</summary>
    public static ModelInferRequest Llm(string prompt, int? maxTokens = null, string model = "llm", string id = "llm-1", bool emptyFinal = false)
    {
        var request = new ModelInferRequest { ModelName = model, Id = id };
        request.Inputs.Add(Input(SimulatedLlm.TextInput, TensorDataType.Bytes, [1]));
        request.RawInputContents.Add(ByteString.CopyFrom(BytesTensor.Encode(prompt)));
        if (maxTokens is { } n)
        {
            request.Inputs.Add(Input(SimulatedLlm.MaxTokensInput, TensorDataType.Int32, [1]));
            var raw = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(raw, n);
            request.RawInputContents.Add(ByteString.CopyFrom(raw));
        }

        if (emptyFinal)
        {
            request.Parameters[SimulatedLlm.EnableEmptyFinalResponseParameter] = new InferParameter { BoolParam = true };
        }

        return request;
    }

    /// <summary>The single token a simulated LLM response carries.</summary>
    public static string Token(ModelInferResponse response)
    {
        Assert.Single(response.Outputs);
        Assert.Equal(SimulatedLlm.TextOutput, response.Outputs[0].Name);
        Assert.Equal("BYTES", response.Outputs[0].Datatype);
        Assert.Equal([1L], response.Outputs[0].Shape);
        var elements = BytesTensor.Decode(Assert.Single(response.RawOutputContents).Span);
        return Assert.Single(elements).ToStringUtf8();
    }

    /// <summary>The response's <c>triton_final_response</c> flag; fails when it is absent.</summary>
    public static bool IsFinal(ModelInferResponse response)
    {
        Assert.True(response.Parameters.TryGetValue(SimulatedLlm.FinalResponseParameter, out var p), "triton_final_response is missing");
        Assert.Equal(InferParameter.ParameterChoiceOneofCase.BoolParam, p.ParameterChoiceCase);
        return p.BoolParam;
    }

    /// <summary>Runs <paramref name="call"/> and checks it fails with <paramref name="code"/>.</summary>
    public static async Task<RpcException> FailsWith(StatusCode code, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, e.StatusCode);
        return e;
    }

    /// <summary>Reads stream responses until <paramref name="done"/> says so (or the stream ends).</summary>
    public static async Task<List<ModelStreamInferResponse>> ReadUntilAsync(
        IAsyncStreamReader<ModelStreamInferResponse> stream, Func<List<ModelStreamInferResponse>, bool> done, CancellationToken cancellationToken = default)
    {
        var responses = new List<ModelStreamInferResponse>();
        while (!done(responses) && await stream.MoveNext(cancellationToken))
        {
            responses.Add(stream.Current);
        }

        return responses;
    }

    /// <summary>Whether a stream response is the last of its request.</summary>
    public static bool EndsRequest(ModelStreamInferResponse r) =>
        r.ErrorMessage.Length > 0 ||
        (r.InferResponse.Parameters.TryGetValue(SimulatedLlm.FinalResponseParameter, out var p) && p.BoolParam);
}
