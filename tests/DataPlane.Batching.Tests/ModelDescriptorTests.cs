using DataPlane.Batching.Models;
using DataPlane.Protocol;
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

    [Fact]
    public void Mismatches_get_tritons_texts_and_an_unknown_version_is_not_found()
    {
        var m = Model();
        Assert.Equal("[request id: <id_unknown>] inference input 'INPUT0' data-type is 'INT32', but model 'm' expects 'FP32'",
            Check(m, Request("m", "INT32", [1, 2, 4], new byte[32]), out _)!.Value.Message);
        Assert.Equal("[request id: <id_unknown>] inference request batch-size must be <= 8 for 'm'",
            Check(m, Request("m", "FP32", [9, 1, 4], new byte[144]), out _)!.Value.Message);

        var output = Request("m", "FP32", [1, 1, 4], new byte[16]);
        output.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "NOPE" });
        Assert.Equal("unexpected inference output 'NOPE' for model 'm'", Check(m, output, out _)!.Value.Message);

        var version = Request("m", "FP32", [1, 1, 4], new byte[16]);
        version.ModelVersion = "7";
        var e = Check(m, version, out _)!.Value;
        Assert.Equal(StatusCode.NotFound, e.Code);
        Assert.Equal("Request for unknown model: 'm' version 7 is not found", e.Message);
    }

    [Fact]
    public void Sequence_batching_marks_a_stateful_model()
    {
        Assert.False(Model().Sequential);
        var config = new ModelConfig { Name = "s", MaxBatchSize = 8, SequenceBatching = new ModelSequenceBatching() };
        config.Input.Add(new ModelInput { Name = "INPUT", DataType = DataType.TypeInt32, Dims = { 1 } });
        Assert.True(new ModelDescriptor(config, "1").Sequential);
    }

    [Fact]
    public void Models_without_batching_take_shapes_as_declared()
    {
        var m = Model(maxBatch: 0);
        Assert.Null(Check(m, Request("m", "FP32", [3, 4], new byte[48]), out long rows));
        Assert.Equal(1, rows);
        Assert.Contains("Expected [-1,4], got [1,3,4]", Check(m, Request("m", "FP32", [1, 3, 4], new byte[48]), out _)!.Value.Message);
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
