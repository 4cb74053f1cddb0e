using DataPlane.Batching.Models;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using static DataPlane.Batching.Tests.Support;

namespace DataPlane.Batching.Tests;

public class ModelDescriptorTests
{
    private static ModelDescriptor Model(int maxBatch = 8)
    {
        var config = new ModelConfig { Name = "m", MaxBatchSize = maxBatch, Platform = "onnxruntime_onnx" };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeFp32, Dims = { -1, 4 } });
        config.Input.Add(new ModelInput { Name = "MASK", DataType = DataType.TypeBool, Dims = { 4 }, Optional = true });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeFp32, Dims = { -1, 4 } });
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 2, Gpus = { 0, 1 } });
        return new ModelDescriptor(config, "1");
    }

    private static RequestError? Check(ModelDescriptor m, ModelInferRequest r, out long rows)
    {
        Assert.Null(TensorReader.TryReadInputs(r, TensorLimits.Default, out var inputs, out _));
        return m.Validate(r, inputs, out rows);
    }

    [Fact]
    public void Instances_count_every_gpu_of_every_group() => Assert.Equal(4, Model().InstanceCount);

    [Fact]
    public void Valid_request_reports_its_rows()
    {
        Assert.Null(Check(Model(), Request("m", "FP32", [3, 2, 4], new byte[96]), out long rows));
        Assert.Equal(3, rows);
    }

    [Theory]
    [InlineData("INT32", new long[] { 1, 2, 4 }, 32, "input 'INPUT0' has datatype INT32 but model 'm' expects FP32")]
    [InlineData("FP32", new long[] { 1, 2, 5 }, 40, "input 'INPUT0' has shape [1,2,5] but model 'm' expects [batch,-1,4] (-1 = any size)")]
    [InlineData("FP32", new long[] { 9, 1, 4 }, 144, "input 'INPUT0' has batch dimension 9; model 'm' accepts 1 to 8")]
    [InlineData("FP32", new long[] { 0, 1, 4 }, 0, "input 'INPUT0' has batch dimension 0; model 'm' accepts 1 to 8")]
    public void Mismatches_with_the_declaration_are_explained(string type, long[] shape, int bytes, string message)
    {
        var e = Check(Model(), Request("m", type, shape, new byte[bytes]), out _);
        Assert.Equal(StatusCode.InvalidArgument, e!.Value.Code);
        Assert.Equal(message, e.Value.Message);
    }

    [Fact]
    public void Unknown_input_missing_input_unknown_output_and_version()
    {
        var m = Model();
        var unknown = Request("m", "FP32", [1, 1, 4], new byte[16]);
        unknown.Inputs[0].Name = "X";
        Assert.Equal("model 'm' has no input 'X'; its inputs are INPUT0, MASK", Check(m, unknown, out _)!.Value.Message);

        var mask = new ModelInferRequest { ModelName = "m" };
        mask.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "MASK", Datatype = "BOOL", Shape = { 1, 4 } });
        mask.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[4]));
        Assert.Equal("model 'm' requires input 'INPUT0', which the request lacks", Check(m, mask, out _)!.Value.Message);

        var output = Request("m", "FP32", [1, 1, 4], new byte[16]);
        output.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "NOPE" });
        Assert.Equal("model 'm' has no output 'NOPE'; its outputs are OUTPUT0", Check(m, output, out _)!.Value.Message);

        var version = Request("m", "FP32", [1, 1, 4], new byte[16]);
        version.ModelVersion = "7";
        var e = Check(m, version, out _)!.Value;
        Assert.Equal(StatusCode.NotFound, e.Code);
        Assert.Equal("model 'm' has no version '7'; it serves version 1", e.Message);
    }

    [Fact]
    public void Models_without_batching_take_shapes_as_declared()
    {
        var m = Model(maxBatch: 0);
        Assert.Null(Check(m, Request("m", "FP32", [3, 4], new byte[48]), out long rows));
        Assert.Equal(1, rows);
        Assert.Contains("expects [-1,4]", Check(m, Request("m", "FP32", [1, 3, 4], new byte[48]), out _)!.Value.Message);
    }

    [Fact]
    public void Metadata_shows_the_batch_dimension()
    {
        var meta = Model().ToMetadata();
        Assert.Equal("m", meta.Name);
        Assert.Equal(["1"], meta.Versions);
        Assert.Equal([-1L, -1, 4], meta.Inputs[0].Shape);
        Assert.Equal("FP32", meta.Outputs[0].Datatype);
    }
}
