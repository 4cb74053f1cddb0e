using DataPlane.Batching.Batching;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using static DataPlane.Batching.Tests.Support;

namespace DataPlane.Batching.Tests;

public class BatchAssemblerTests
{
    [Fact]
    public void Single_request_goes_upstream_unchanged()
    {
        var p = Pending(Request("m", "INT8", [2, 1], [1, 2], id: "x"));
        Assert.Same(p.Message, BatchAssembler.Build([p], 2, []));
    }

    [Fact]
    public void Inputs_concatenate_along_dim0_and_outputs_split_back_with_ids()
    {
        var a = Pending(Request("m", "INT8", [1, 2], [1, 2], id: "a"));
        var b = Pending(Request("m", "INT8", [2, 2], [3, 4, 5, 6], id: "b"));
        a.Message.Parameters["priority"] = new InferParameter { Int64Param = 1 };
        var rented = new List<byte[]>();
        var upstream = BatchAssembler.Build([a, b], 3, rented);
        Assert.Single(rented);
        Assert.Equal([3L, 2], upstream.Inputs[0].Shape);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, upstream.RawInputContents[0].ToByteArray());
        Assert.False(upstream.Parameters.ContainsKey("priority"));
        Assert.Equal("", upstream.Id);

        var response = new ModelInferResponse { ModelName = "m", ModelVersion = "1" };
        response.Parameters["note"] = new InferParameter { StringParam = "batch" };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUT", Datatype = "INT8", Shape = { 3, 2 } });
        response.RawOutputContents.Add(ByteString.CopyFrom(10, 20, 30, 40, 50, 60));
        var answers = new ModelInferResponse[2];
        Assert.Null(BatchAssembler.TrySplit([a, b], response, TensorLimits.Default, answers));
        Assert.Equal("a", answers[0].Id);
        Assert.Equal([1L, 2], answers[0].Outputs[0].Shape);
        Assert.Equal(new byte[] { 10, 20 }, answers[0].RawOutputContents[0].ToByteArray());
        Assert.Equal("b", answers[1].Id);
        Assert.Equal([2L, 2], answers[1].Outputs[0].Shape);
        Assert.Equal(new byte[] { 30, 40, 50, 60 }, answers[1].RawOutputContents[0].ToByteArray());
        Assert.Equal("batch", answers[1].Parameters["note"].StringParam);
    }

    [Fact]
    public void Every_request_gets_raw_answers_as_from_triton_whatever_its_inputs_used()
    {
        var typedRequest = new ModelInferRequest { ModelName = "m", Id = "t" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1 } };
        input.Contents = new InferTensorContents { IntContents = { 7 } };
        typedRequest.Inputs.Add(input);
        var typed = Pending(typedRequest);
        var raw = Pending(Request("m", "INT32", [1], BitConverter.GetBytes(8), id: "r"));

        var response = new ModelInferResponse { ModelName = "m" };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUT", Datatype = "INT32", Shape = { 2 } });
        response.RawOutputContents.Add(ByteString.CopyFrom([.. BitConverter.GetBytes(70), .. BitConverter.GetBytes(80)]));
        var answers = new ModelInferResponse[2];
        Assert.Null(BatchAssembler.TrySplit([typed, raw], response, TensorLimits.Default, answers));
        Assert.All(answers, a => Assert.Null(a.Outputs[0].Contents));
        Assert.Equal(BitConverter.GetBytes(70), answers[0].RawOutputContents[0].ToByteArray());
        Assert.Equal(BitConverter.GetBytes(80), answers[1].RawOutputContents[0].ToByteArray());
        Assert.Equal(["t", "r"], answers.Select(a => a.Id));

        // An upstream that answered a lone request with typed contents is turned into raw contents, index-aligned.
        var single = new ModelInferResponse[1];
        var one = new ModelInferResponse { ModelName = "m", Id = "t" };
        one.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor
        {
            Name = "OUT", Datatype = "INT32", Shape = { 1 }, Contents = new InferTensorContents { IntContents = { 70 } },
        });
        Assert.Null(BatchAssembler.TrySplit([typed], one, TensorLimits.Default, single));
        Assert.Null(single[0].Outputs[0].Contents);
        Assert.Equal(BitConverter.GetBytes(70), Assert.Single(single[0].RawOutputContents).ToByteArray());
    }

    [Fact]
    public void Upstream_answers_that_do_not_fit_the_batch_are_reported()
    {
        var a = Pending(Request("m", "INT8", [1], [1]));
        var b = Pending(Request("m", "INT8", [1], [2]));
        var response = new ModelInferResponse();
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUT", Datatype = "INT8", Shape = { 3 } });
        response.RawOutputContents.Add(ByteString.CopyFrom(1, 2, 3));
        string? e = BatchAssembler.TrySplit([a, b], response, TensorLimits.Default, new ModelInferResponse[2]);
        Assert.Equal("upstream response does not match the batch: output 'OUT' has batch dimension 3 but the batch has 2 rows", e);

        response.RawOutputContents[0] = ByteString.CopyFrom(1, 2);
        Assert.StartsWith("upstream response is malformed: output 'OUT': raw_output_contents[0] has 2 bytes",
            BatchAssembler.TrySplit([a, b], response, TensorLimits.Default, new ModelInferResponse[2]));
    }
}
