using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;

namespace DataPlane.Simulation.Tests;

/// <summary>Every datatype through its echo model, raw and typed, checked with the transform.</summary>
public class EchoModelTests : IClassFixture<DefaultServerFixture>
{
    private readonly DefaultServerFixture _fixture;

    public EchoModelTests(DefaultServerFixture fixture) => _fixture = fixture;

    public static TheoryData<TensorDataType> AllTypes() => [.. TensorDataTypes.All];

    public static TheoryData<TensorDataType> TypedTypes() => [.. TensorDataTypes.All.Where(t => t.HasTypedContents())];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Raw_request_gets_the_transform_of_every_element_as_raw_output(TensorDataType type)
    {
        string model = SimulationOptions.EchoModelName(type);
        var raw = Requests.Sample(type, 3 * 5);
        var request = Requests.Raw(model, type, [3, 5], raw);

        var response = await _fixture.Client.ModelInferAsync(request);

        Assert.Equal(model, response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal(request.Id, response.Id);
        Assert.Empty(response.Parameters);
        var output = Assert.Single(response.Outputs);
        Assert.Equal("OUTPUT0", output.Name);
        Assert.Equal(type.WireName(), output.Datatype);
        Assert.Equal([3L, 5L], output.Shape);
        Assert.Null(output.Contents);
        Assert.Equal(SimulatedTransform.Apply(type, raw), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Theory]
    [MemberData(nameof(TypedTypes))]
    public async Task Typed_request_gets_the_transform_of_every_element_as_raw_output_never_typed(TensorDataType type)
    {
        string model = SimulationOptions.EchoModelName(type);
        var raw = Requests.Sample(type, 4 * 3, seed: 7);
        var request = Requests.Typed(model, type, [4, 3], raw);

        var response = await _fixture.Client.ModelInferAsync(request);

        Assert.Equal(request.Id, response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Equal(type.WireName(), output.Datatype);
        Assert.Equal([4L, 3L], output.Shape);
        Assert.Null(output.Contents);
        Assert.Empty(output.Parameters);
        Assert.Equal(SimulatedTransform.Apply(type, raw), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Fact]
    public async Task Typed_int8_in_int_contents_and_bytes_in_bytes_contents_come_back_raw()
    {
        var int8 = new ModelInferRequest { ModelName = "echo_int8", Id = "i8" };
        var input = Requests.Input("INPUT0", TensorDataType.Int8, [1, 3]);
        input.Contents = new InferTensorContents();
        input.Contents.IntContents.Add([-128, 0, 127]);
        int8.Inputs.Add(input);

        var response = await _fixture.Client.ModelInferAsync(int8);

        Assert.Null(response.Outputs.Single().Contents);
        Assert.Equal(new byte[] { 0x81, 0x01, 0x80 }, response.RawOutputContents.Single().ToByteArray());

        var bytes = new ModelInferRequest { ModelName = "echo_bytes", Id = "b" };
        input = Requests.Input("INPUT0", TensorDataType.Bytes, [1, 2]);
        input.Contents = new InferTensorContents();
        input.Contents.BytesContents.Add([ByteString.CopyFromUtf8("ab"), ByteString.CopyFromUtf8("")]);
        bytes.Inputs.Add(input);

        response = await _fixture.Client.ModelInferAsync(bytes);

        Assert.Null(response.Outputs.Single().Contents);
        Assert.Equal(BytesTensor.Encode("ba", ""), response.RawOutputContents.Single().ToByteArray());
    }

    [Fact]
    public async Task Any_length_is_accepted_where_the_model_declares_minus_one()
    {
        foreach (int length in new[] { 1, 2, 100 })
        {
            var raw = Requests.Sample(TensorDataType.Int16, length);
            var response = await _fixture.Client.ModelInferAsync(Requests.Raw("echo_int16", TensorDataType.Int16, [1, length], raw));
            Assert.Equal([1L, length], response.Outputs[0].Shape);
            Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int16, raw), response.RawOutputContents[0].ToByteArray());
        }
    }

    [Fact]
    public async Task Simple_model_answers_a_full_batch()
    {
        var request = Requests.Simple(32);

        var response = await _fixture.Client.ModelInferAsync(request);

        Assert.Equal([32L, 16L], response.Outputs[0].Shape);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, request.RawInputContents[0].Span), response.RawOutputContents[0].ToByteArray());
    }

    [Fact]
    public async Task Requested_output_is_accepted_and_returned()
    {
        var request = Requests.Simple(2);
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" });

        var response = await _fixture.Client.ModelInferAsync(request);

        Assert.Equal("OUTPUT0", Assert.Single(response.Outputs).Name);
    }
}
