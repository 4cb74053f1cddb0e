using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Requests rejected as Triton rejects them, with the status and a message naming the tensor.</summary>
public class ValidationTests : IClassFixture<DefaultServerFixture>
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

    public ValidationTests(DefaultServerFixture fixture) => _client = fixture.Client;

    private async Task<string> InvalidAsync(ModelInferRequest request, StatusCode code = StatusCode.InvalidArgument)
    {
        var e = await Requests.FailsWith(code, () => _client.ModelInferAsync(request).ResponseAsync);
        return e.Status.Detail;
    }

    [Fact]
    public async Task Unknown_model_is_not_found_for_every_model_rpc()
    {
        string message = await InvalidAsync(Requests.Simple(1, model: "nope"), StatusCode.NotFound);
        Assert.Contains("'nope'", message, StringComparison.Ordinal);

        await Requests.FailsWith(StatusCode.NotFound, () => _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }).ResponseAsync);
        await Requests.FailsWith(StatusCode.NotFound, () => _client.ModelConfigAsync(new ModelConfigRequest { Name = "nope" }).ResponseAsync);
        await Requests.FailsWith(StatusCode.NotFound, () => _client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "nope" }).ResponseAsync);
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" })).Ready);
    }

    [Fact]
    public async Task Unknown_version_is_not_found()
    {
        var request = Requests.Simple(1);
        request.ModelVersion = "2";

        string message = await InvalidAsync(request, StatusCode.NotFound);

        Assert.Contains("version 2", message, StringComparison.Ordinal);
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "2" })).Ready);
        await Requests.FailsWith(StatusCode.NotFound, () => _client.ModelConfigAsync(new ModelConfigRequest { Name = "simple", Version = "2" }).ResponseAsync);
    }

    [Fact]
    public async Task Wrong_datatype_names_the_input_and_both_types()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Int32, [1, 16], Requests.Sample(TensorDataType.Int32, 16)));

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
        Assert.Contains("INT32", message, StringComparison.Ordinal);
        Assert.Contains("FP32", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_dims_name_the_input_and_the_expected_shape()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Fp32, [2, 8], Requests.Sample(TensorDataType.Fp32, 16)));

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
        Assert.Contains("[batch,16]", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_above_max_batch_size_is_invalid()
    {
        string message = await InvalidAsync(Requests.Simple(33));

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
        Assert.Contains("33", message, StringComparison.Ordinal);
        Assert.Contains("32", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_batch_dimension_is_invalid()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Fp32, [16], Requests.Sample(TensorDataType.Fp32, 16)));

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
        Assert.Contains("batch", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_input_is_invalid_and_named()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Fp32, [1, 16], Requests.Sample(TensorDataType.Fp32, 16), name: "INPUTX"));

        Assert.Contains("'INPUTX'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Framing_errors_come_from_the_tensor_reader_and_name_the_input()
    {
        var request = Requests.Raw("simple", TensorDataType.Fp32, [1, 16], new byte[63]);

        string message = await InvalidAsync(request);

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
        Assert.Contains("raw_input_contents", message, StringComparison.Ordinal);
        Assert.Contains("63", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_bytes_elements_are_invalid()
    {
        var request = Requests.Raw("echo_bytes", TensorDataType.Bytes, [1, 2], [1, 0, 0, 0, (byte)'a', 9, 0, 0, 0]);

        string message = await InvalidAsync(request);

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Typed_fp16_is_invalid_because_it_has_no_typed_field()
    {
        var request = new ModelInferRequest { ModelName = "echo_fp16" };
        var input = Requests.Input("INPUT0", TensorDataType.Fp16, [1, 2]);
        input.Contents = new InferTensorContents();
        input.Contents.Fp32Contents.Add([1f, 2f]);
        request.Inputs.Add(input);

        string message = await InvalidAsync(request);

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_requested_output_is_invalid_and_named()
    {
        var request = Requests.Simple(1);
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT9" });

        string message = await InvalidAsync(request);

        Assert.Contains("'OUTPUT9'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Model_infer_to_the_decoupled_llm_is_invalid()
    {
        string message = await InvalidAsync(Requests.Llm("hello"));

        Assert.Equal("model 'llm' is decoupled; use ModelStreamInfer", message);
    }

    [Fact]
    public async Task Request_without_inputs_is_invalid()
    {
        await InvalidAsync(new ModelInferRequest { ModelName = "simple" });
    }

    [Fact]
    public async Task Mixed_raw_and_typed_contents_are_invalid()
    {
        var request = Requests.Simple(1);
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.Fp32Contents.Add(new float[16]);

        string message = await InvalidAsync(request);

        Assert.Contains("input 'INPUT0'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_contents_of_the_wrong_count_are_invalid()
    {
        var request = Requests.Simple(1);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));

        await InvalidAsync(request);
    }
}
