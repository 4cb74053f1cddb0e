using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Models;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests;

/// <summary>Triton's request checks against a model declaration, with Triton's texts.</summary>
public class ModelSignatureTests
{
    private static ModelSignature Model(int maxBatch = 8)
    {
        var config = new ModelConfig { Name = "m", MaxBatchSize = maxBatch };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeFp32, Dims = { -1, 4 } });
        config.Input.Add(new ModelInput { Name = "MASK", DataType = DataType.TypeBool, Dims = { 4 }, Optional = true });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeFp32, Dims = { -1, 4 } });
        return ModelSignature.FromConfig(config);
    }

    private static ModelInferRequest Request(string type, long[] shape, int bytes, string name = "INPUT0")
    {
        var r = new ModelInferRequest { ModelName = "m", Id = "7" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = type };
        input.Shape.Add(shape);
        r.Inputs.Add(input);
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[bytes]));
        return r;
    }

    private static string? Check(ModelSignature m, ModelInferRequest r, out long rows)
    {
        Assert.Null(TensorReader.TryReadInputs(r, TensorLimits.Default, null, out var inputs, out _));
        return m.Validate(r, inputs, out rows)?.Message;
    }

    [Fact]
    public void A_valid_request_reports_its_batch_size()
    {
        Assert.Null(Check(Model(), Request("FP32", [3, 2, 4], 96), out long rows));
        Assert.Equal(3, rows);
        Assert.Null(Check(Model(0), Request("FP32", [3, 4], 48), out rows));
        Assert.Equal(1, rows);
    }

    [Theory]
    [InlineData("INT32", new long[] { 1, 2, 4 }, 32, "[request id: 7] inference input 'INPUT0' data-type is 'INT32', but model 'm' expects 'FP32'")]
    [InlineData("FP32", new long[] { 9, 1, 4 }, 144, "[request id: 7] inference request batch-size must be <= 8 for 'm'")]
    [InlineData("FP32", new long[] { 1, 2, 5 }, 40, "[request id: 7] unexpected shape for input 'INPUT0' for model 'm'. Expected [-1,-1,4], got [1,2,5]. NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each input shape. If you want to specify the full shape including the batch dim in your input dims config, try setting max_batch_size to zero. See the model configuration docs for more info on max_batch_size.")]
    [InlineData("FP32", new long[0], 4, "[request id: 7] input 'INPUT0' has no shape but model requires batch dimension for 'm'")]
    public void Mismatches_use_tritons_texts(string type, long[] shape, int bytes, string message) =>
        Assert.Equal(message, Check(Model(), Request(type, shape, bytes), out _));

    [Fact]
    public void Shape_message_without_batching_has_no_note() =>
        Assert.Equal("[request id: 7] unexpected shape for input 'INPUT0' for model 'm'. Expected [-1,4], got [1,3,4]. ",
            Check(Model(0), Request("FP32", [1, 3, 4], 48), out _));

    [Fact]
    public void Unknown_and_missing_inputs_and_outputs()
    {
        var m = Model();
        Assert.Equal("unexpected inference input 'X' for model 'm'", Check(m, Request("FP32", [1, 1, 4], 16, "X"), out _));
        Assert.Equal("[request id: 7] expected number of inputs between 1 and 2 but got 1 inputs for model 'm'. Got input(s) ['MASK'], " +
            "but missing required input(s) ['INPUT0']. Please provide all required input(s).", Check(m, Request("BOOL", [1, 4], 4, "MASK"), out _));

        var extra = Request("FP32", [1, 1, 4], 16);
        extra.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "Y", Datatype = "BOOL", Shape = { 1, 4 } });
        extra.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        Assert.Equal("unexpected inference input 'Y' for model 'm'", Check(m, extra, out _));

        var output = Request("FP32", [1, 1, 4], 16);
        output.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "NOPE" });
        Assert.Equal("unexpected inference output 'NOPE' for model 'm'", Check(m, output, out _));

        var twice = Request("FP32", [1, 1, 4], 16);
        twice.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" });
        twice.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" });
        Assert.Equal("[request id: 7] output 'OUTPUT0' already exists in request", Check(m, twice, out _));
    }

    [Fact]
    public void Batch_sizes_must_agree()
    {
        var r = Request("FP32", [2, 1, 4], 32);
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "MASK", Datatype = "BOOL", Shape = { 3, 4 } });
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[12]));
        Assert.Equal("[request id: 7] input 'MASK' batch size does not match other inputs for 'm'", Check(Model(), r, out _));
    }
}
