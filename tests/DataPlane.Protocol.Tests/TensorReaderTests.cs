using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests;

public class TensorReaderTests
{
    private static ModelInferRequest.Types.InferInputTensor Input(string name, string type, params long[] shape)
    {
        var t = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = type };
        t.Shape.Add(shape);
        return t;
    }

    private static string? Read(ModelInferRequest r) => TensorReader.TryReadInputs(r, TensorLimits.Default, out _, out _);

    [Fact]
    public void Raw_inputs_alias_the_request_bytes()
    {
        var r = new ModelInferRequest { ModelName = "m" };
        r.Inputs.Add(Input("a", "FP32", 2, 2));
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[16]));
        Assert.Null(TensorReader.TryReadInputs(r, TensorLimits.Default, out var inputs, out bool typed));
        Assert.False(typed);
        Assert.Equal(4, inputs[0].ElementCount);
        Assert.Equal(2, inputs[0].BatchDim);
        Assert.True(r.RawInputContents[0].Memory.Span.Overlaps(inputs[0].Raw.Span));
    }

    [Fact]
    public void Typed_inputs_are_converted_once_and_flagged()
    {
        var r = new ModelInferRequest();
        var t = Input("a", "INT16", 3);
        t.Contents = new InferTensorContents();
        t.Contents.IntContents.Add([1, 2, 3]);
        r.Inputs.Add(t);
        Assert.Null(TensorReader.TryReadInputs(r, TensorLimits.Default, out var inputs, out bool typed));
        Assert.True(typed);
        Assert.Equal(new byte[] { 1, 0, 2, 0, 3, 0 }, inputs[0].Raw.ToArray());
    }

    [Fact]
    public void Raw_size_mismatch_states_bytes_shape_and_arithmetic()
    {
        var r = new ModelInferRequest { ModelName = "m", Id = "42" };
        r.Inputs.Add(Input("INPUT0", "FP32", 2, 3));
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[20]));
        Assert.Equal("[request id: 42] input byte size mismatch for input 'INPUT0' for model 'm'. Expected 24, got 20 " +
            "(raw_input_contents[0]: shape [2,3] of FP32 is 6 elements × 4 bytes)", Read(r));
    }

    [Fact]
    public void Mixing_raw_and_typed_contents_is_rejected()
    {
        var r = new ModelInferRequest();
        var t = Input("a", "INT32", 1);
        t.Contents = new InferTensorContents();
        t.Contents.IntContents.Add(1);
        r.Inputs.Add(t);
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        r.ModelName = "m";
        Assert.Equal("contents field must not be specified when using raw_input_contents for 'a' for model 'm'", Read(r));
    }

    [Fact]
    public void Each_input_needs_a_raw_entry_and_extra_entries_are_ignored_as_in_triton()
    {
        var r = new ModelInferRequest { ModelName = "m" };
        r.Inputs.Add(Input("a", "INT32", 1));
        r.Inputs.Add(Input("b", "INT32", 1));
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        Assert.Equal("unable to find data for input tensor 'b' for model 'm' in request.", Read(r));

        r.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        r.RawInputContents.Add(ByteString.CopyFrom(new byte[9]));
        Assert.Null(Read(r));
    }

    [Fact]
    public void Structural_problems_are_named()
    {
        Assert.Equal("request has no inputs", Read(new ModelInferRequest()));

        var dup = new ModelInferRequest();
        dup.Inputs.Add(Input("a", "INT32", 0));
        dup.Inputs.Add(Input("a", "INT32", 0));
        Assert.Equal("[request id: <id_unknown>] input 'a' already exists in request", Read(dup));

        var unnamed = new ModelInferRequest();
        unnamed.Inputs.Add(Input("", "INT32", 0));
        Assert.Equal("input 0 has no name", Read(unnamed));

        var badType = new ModelInferRequest();
        badType.Inputs.Add(Input("a", "FLOAT", 1));
        Assert.StartsWith("input 'a': unknown datatype 'FLOAT'; expected one of BOOL, UINT8", Read(badType));

        var noData = new ModelInferRequest();
        noData.Inputs.Add(Input("a", "FP16", 2));
        Assert.Equal("input 'a': no data; datatype FP16 must be sent in raw_input_contents", Read(noData));

        var noTyped = new ModelInferRequest();
        noTyped.Inputs.Add(Input("a", "FP32", 2));
        Assert.Equal("input 'a': no data; shape [2] needs 2 elements in fp32_contents or in raw_input_contents", Read(noTyped));
    }

    [Fact]
    public void Bool_bytes_other_than_zero_and_one_are_rejected()
    {
        var r = new ModelInferRequest();
        r.Inputs.Add(Input("flags", "BOOL", 3));
        r.RawInputContents.Add(ByteString.CopyFrom(1, 0, 7));
        Assert.Equal("input 'flags': BOOL element 2 is 7; only 0 and 1 are allowed", Read(r));
    }

    [Fact]
    public void Limits_apply_to_tensor_count_elements_and_bytes()
    {
        var limits = new TensorLimits { MaxTensors = 1, MaxElementsPerTensor = 10, MaxBytesPerTensor = 16 };
        var two = new ModelInferRequest();
        two.Inputs.Add(Input("a", "INT8", 1));
        two.Inputs.Add(Input("b", "INT8", 1));
        Assert.Equal("request has 2 inputs, more than the limit of 1", TensorReader.TryReadInputs(two, limits, out _, out _));

        var big = new ModelInferRequest();
        big.Inputs.Add(Input("a", "INT8", 11));
        big.RawInputContents.Add(ByteString.CopyFrom(new byte[11]));
        Assert.Contains("11 elements, more than the limit of 10", TensorReader.TryReadInputs(big, limits, out _, out _));

        var wide = new ModelInferRequest();
        wide.Inputs.Add(Input("a", "FP64", 3));
        wide.RawInputContents.Add(ByteString.CopyFrom(new byte[24]));
        Assert.Equal("input 'a': raw_input_contents[0] has 24 bytes, more than the limit of 16", TensorReader.TryReadInputs(wide, limits, out _, out _));
    }

    [Fact]
    public void Empty_tensor_is_valid_without_data()
    {
        var r = new ModelInferRequest();
        r.Inputs.Add(Input("a", "FP32", 0, 4));
        Assert.Null(Read(r));
    }

    [Fact]
    public void Outputs_are_read_with_the_same_rules()
    {
        var response = new ModelInferResponse();
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "o", Datatype = "INT32", Shape = { 2 } });
        response.RawOutputContents.Add(ByteString.CopyFrom(new byte[7]));
        Assert.Equal("output 'o': raw_output_contents[0] has 7 bytes but shape [2] of INT32 needs 8 (2 elements × 4 bytes)",
            TensorReader.TryReadOutputs(response, TensorLimits.Default, out _));
    }
}
