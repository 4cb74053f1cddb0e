using DataPlane.Edge.Gpu;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Agent.Tests;

/// <summary>The agent's hand-written wire codec agrees with the generated protocol types both ways.</summary>
public class StreamInferCodecTests
{
    [Fact]
    public void Requests_parse_as_the_generated_model_infer_request()
    {
        var request = new GpuInferRequest("llm", "req-1",
        [
            new WireTensor("text_input", "BYTES", [1], StreamInferCodec.BytesElement("héllo wörld")),
            new WireTensor("max_tokens", "INT32", [1], BitConverter.GetBytes(42)),
            new WireTensor("odd", "FP32", [-1, 3, 0], []),
        ]);
        var parsed = ModelInferRequest.Parser.ParseFrom(StreamInferCodec.Encode(request));
        Assert.Equal("llm", parsed.ModelName);
        Assert.Equal("req-1", parsed.Id);
        Assert.Equal(["text_input", "max_tokens", "odd"], parsed.Inputs.Select(i => i.Name));
        Assert.Equal(["BYTES", "INT32", "FP32"], parsed.Inputs.Select(i => i.Datatype));
        Assert.Equal([-1L, 3, 0], parsed.Inputs[2].Shape);
        Assert.Equal("héllo wörld", BytesTensor.Decode(parsed.RawInputContents[0].Span).Single().ToStringUtf8());
        Assert.Equal(42, BitConverter.ToInt32(parsed.RawInputContents[1].Span));
        Assert.Equal(0, parsed.RawInputContents[2].Length);
    }

    [Fact]
    public void Responses_from_the_generated_types_decode_with_text_flags_and_host_timing()
    {
        var response = new ModelStreamInferResponse
        {
            InferResponse = new ModelInferResponse { ModelName = "llm", ModelVersion = "1", Id = "dp-7" },
        };
        var infer = response.InferResponse;
        infer.Parameters["triton_final_response"] = new InferParameter { BoolParam = true };
        infer.Parameters["dataplane_upstream_first_response_us"] = new InferParameter { Int64Param = 51234 };
        infer.Parameters["other"] = new InferParameter { DoubleParam = 1.5 };
        infer.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "logits", Datatype = "FP32", Shape = { 2 } });
        infer.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "text_output", Datatype = "BYTES", Shape = { 2 } });
        infer.RawOutputContents.Add(ByteString.CopyFrom(new byte[8]));
        infer.RawOutputContents.Add(ByteString.CopyFrom(BytesTensor.Encode(" to", "kens")));

        var decoded = StreamInferCodec.DecodeResponse(response.ToByteArray());
        Assert.Equal("", decoded.ErrorMessage);
        Assert.Equal("dp-7", decoded.Id);
        Assert.Equal(" tokens", decoded.Text);
        Assert.True(decoded.Final);
        Assert.Equal(51234, decoded.HostUpstreamUs);
    }

    [Fact]
    public void Typed_text_errors_and_empty_final_responses_decode()
    {
        var typed = new ModelStreamInferResponse { InferResponse = new ModelInferResponse() };
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = "text_output", Datatype = "BYTES", Shape = { 1 } };
        output.Contents = new InferTensorContents { BytesContents = { ByteString.CopyFromUtf8(" typed") } };
        typed.InferResponse.Outputs.Add(output);
        Assert.Equal(" typed", StreamInferCodec.DecodeResponse(typed.ToByteArray()).Text);

        var error = new ModelStreamInferResponse { ErrorMessage = "INVALID_ARGUMENT: bad", InferResponse = new ModelInferResponse { Id = "x" } };
        var e = StreamInferCodec.DecodeResponse(error.ToByteArray());
        Assert.Equal("INVALID_ARGUMENT: bad", e.ErrorMessage);
        Assert.Equal("x", e.Id);

        var empty = new ModelStreamInferResponse { InferResponse = new ModelInferResponse() };
        empty.InferResponse.Parameters["triton_final_response"] = new InferParameter { BoolParam = true };
        var f = StreamInferCodec.DecodeResponse(empty.ToByteArray());
        Assert.True(f.Final);
        Assert.Equal("", f.Text);
        Assert.Null(f.HostUpstreamUs);
    }

    [Fact]
    public void Truncated_responses_are_reported()
    {
        var response = new ModelStreamInferResponse { ErrorMessage = "a long message" }.ToByteArray();
        Assert.Throws<InvalidDataException>(() => StreamInferCodec.DecodeResponse(response.AsSpan(0, response.Length - 3)));
    }

    [Fact]
    public void Server_ready_answers_decode_from_the_generated_type()
    {
        Assert.True(StreamInferCodec.DecodeServerReady(new ServerReadyResponse { Ready = true }.ToByteArray()));
        Assert.False(StreamInferCodec.DecodeServerReady(new ServerReadyResponse { Ready = false }.ToByteArray()));
        // An unknown field before the flag is skipped.
        Assert.True(StreamInferCodec.DecodeServerReady([0x12, 0x01, 0x78, 0x08, 0x01]));
    }
}
