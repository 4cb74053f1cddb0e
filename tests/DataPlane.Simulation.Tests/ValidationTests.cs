using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Requests rejected as Triton 2.70 rejects them: the status code and Triton's exact text.</summary>
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
    public async Task Unknown_model_is_not_found_with_tritons_text_for_every_model_rpc()
    {
        const string text = "Request for unknown model: 'nope' is not found";
        Assert.Equal(text, await InvalidAsync(Requests.Simple(1, model: "nope"), StatusCode.NotFound));
        Assert.Equal(text, (await Requests.FailsWith(StatusCode.NotFound,
            () => _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }).ResponseAsync)).Status.Detail);
        Assert.Equal(text, (await Requests.FailsWith(StatusCode.NotFound,
            () => _client.ModelConfigAsync(new ModelConfigRequest { Name = "nope" }).ResponseAsync)).Status.Detail);

        // Triton 2.70 (core r26.06): ModelReady of an unknown model is OK with ready=false.
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" })).Ready);
    }

    [Fact]
    public async Task Statistics_of_an_unknown_model_or_version_use_the_statistics_texts()
    {
        var e = await Requests.FailsWith(StatusCode.InvalidArgument,
            () => _client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal("requested model 'nope' is not available", e.Status.Detail);

        e = await Requests.FailsWith(StatusCode.InvalidArgument,
            () => _client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "simple", Version = "2" }).ResponseAsync);
        Assert.Equal("requested model version is not available for model 'simple'", e.Status.Detail);
    }

    [Fact]
    public async Task Unknown_version_is_not_found_and_the_number_is_printed_as_parsed()
    {
        var request = Requests.Simple(1);
        request.ModelVersion = "2";

        Assert.Equal("Request for unknown model: 'simple' version 2 is not found", await InvalidAsync(request, StatusCode.NotFound));
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "2" })).Ready);
        var e = await Requests.FailsWith(StatusCode.NotFound,
            () => _client.ModelConfigAsync(new ModelConfigRequest { Name = "simple", Version = "02x" }).ResponseAsync);
        Assert.Equal("Request for unknown model: 'simple' version 2 is not found", e.Status.Detail);

        // std::stol reads the leading digits: "1abc" is version 1.
        request.ModelVersion = "1abc";
        await _client.ModelInferAsync(request);
    }

    [Fact]
    public async Task A_version_that_is_not_a_number_or_is_negative_is_invalid()
    {
        var request = Requests.Simple(1);
        request.ModelVersion = "latest";
        Assert.Equal(
            "failed to get model version from specified version string 'latest' (details: stol), version should be an integral value > 0",
            await InvalidAsync(request));

        request.ModelVersion = "-3";
        Assert.Equal("invalid model version specified '-3' , version should be an integral value > 0", await InvalidAsync(request));

        var e = await Requests.FailsWith(StatusCode.InvalidArgument,
            () => _client.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "x" }).ResponseAsync);
        Assert.StartsWith("failed to get model version from specified version string 'x'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_datatype_names_the_input_and_both_types()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Int32, [1, 16], Requests.Sample(TensorDataType.Int32, 16)));

        Assert.Equal("[request id: req-simple] inference input 'INPUT0' data-type is 'INT32', but model 'simple' expects 'FP32'", message);
    }

    [Fact]
    public async Task Wrong_dims_give_the_expected_shape_with_the_batch_note()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Fp32, [2, 8], Requests.Sample(TensorDataType.Fp32, 16)));

        Assert.StartsWith("[request id: req-simple] unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [2,8]. NOTE: ",
            message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_above_max_batch_size_is_invalid()
    {
        Assert.Equal("[request id: req-simple] inference request batch-size must be <= 32 for 'simple'", await InvalidAsync(Requests.Simple(33)));
    }

    [Fact]
    public async Task Unknown_input_is_invalid_and_named()
    {
        string message = await InvalidAsync(Requests.Raw("simple", TensorDataType.Fp32, [1, 16], Requests.Sample(TensorDataType.Fp32, 16), name: "INPUTX"));

        Assert.Equal("unexpected inference input 'INPUTX' for model 'simple'", message);
    }

    [Fact]
    public async Task A_byte_size_mismatch_uses_tritons_words()
    {
        var request = Requests.Raw("simple", TensorDataType.Fp32, [1, 16], new byte[63]);

        string message = await InvalidAsync(request);

        Assert.StartsWith("[request id: req-simple] input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 63", message, StringComparison.Ordinal);
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

        Assert.Equal("unexpected inference output 'OUTPUT9' for model 'simple'", await InvalidAsync(request));
    }

    [Fact]
    public async Task Model_infer_to_the_decoupled_llm_is_unimplemented_with_tritons_text()
    {
        string message = await InvalidAsync(Requests.Llm("hello"), StatusCode.Unimplemented);

        Assert.Equal("ModelInfer RPC doesn't support models with decoupled transaction policy", message);
    }

    [Fact]
    public async Task Request_without_inputs_gets_tritons_input_count_message()
    {
        string message = await InvalidAsync(new ModelInferRequest { ModelName = "simple" });

        Assert.Equal("[request id: <id_unknown>] expected 1 inputs but got 0 inputs for model 'simple'. Got input(s) [], " +
            "but missing required input(s) ['INPUT0']. Please provide all required input(s).", message);
    }

    [Fact]
    public async Task Mixed_raw_and_typed_contents_are_invalid()
    {
        var request = Requests.Simple(1);
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.Fp32Contents.Add(new float[16]);

        Assert.Equal("contents field must not be specified when using raw_input_contents for 'INPUT0' for model 'simple'", await InvalidAsync(request));
    }

    [Fact]
    public async Task Extra_raw_contents_are_ignored_as_triton_ignores_them()
    {
        var request = Requests.Simple(1);
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));

        var response = await _client.ModelInferAsync(request);

        Assert.Single(response.RawOutputContents);
    }
}
