using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;

namespace DataPlane.Simulation.Tests;

/// <summary>A model with two inputs and two outputs: output k from input k, requested outputs honoured.</summary>
public sealed class RequestedOutputTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        Models =
        [
            new SimulatedModelOptions
            {
                Name = "pair",
                MaxBatchSize = 8,
                BaseLatency = TimeSpan.Zero,
                Inputs = [new("INPUT0", TensorDataType.Fp32, [4]), new("INPUT1", TensorDataType.Int32, [2])],
                Outputs = [new("OUTPUT0", TensorDataType.Fp32, [4]), new("OUTPUT1", TensorDataType.Int32, [2])],
            },
        ],
    };

    private readonly byte[] _input0 = Requests.Sample(TensorDataType.Fp32, 3 * 4);
    private readonly byte[] _input1 = Requests.Sample(TensorDataType.Int32, 3 * 2);
    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(Options);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ModelInferRequest Request(bool reversedInputs = false, params string[] outputs)
    {
        var request = new ModelInferRequest { ModelName = "pair", Id = "p" };
        var inputs = new[]
        {
            (Requests.Input("INPUT0", TensorDataType.Fp32, [3, 4]), _input0),
            (Requests.Input("INPUT1", TensorDataType.Int32, [3, 2]), _input1),
        };
        foreach (var (tensor, raw) in reversedInputs ? Enumerable.Reverse(inputs) : inputs)
        {
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(ByteString.CopyFrom(raw));
        }

        foreach (var name in outputs)
        {
            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name });
        }

        return request;
    }

    [Fact]
    public async Task Without_requested_outputs_all_come_back_in_declaration_order_computed_from_their_own_input()
    {
        var response = await _server.Client.ModelInferAsync(Request(reversedInputs: true));

        Assert.Equal(["OUTPUT0", "OUTPUT1"], response.Outputs.Select(o => o.Name));
        Assert.Equal([3L, 4L], response.Outputs[0].Shape);
        Assert.Equal([3L, 2L], response.Outputs[1].Shape);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, _input0), response.RawOutputContents[0].ToByteArray());
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, _input1), response.RawOutputContents[1].ToByteArray());
    }

    [Fact]
    public async Task Requested_outputs_come_back_in_request_order()
    {
        var response = await _server.Client.ModelInferAsync(Request(false, "OUTPUT1", "OUTPUT0"));

        Assert.Equal(["OUTPUT1", "OUTPUT0"], response.Outputs.Select(o => o.Name));
        Assert.Equal("INT32", response.Outputs[0].Datatype);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, _input1), response.RawOutputContents[0].ToByteArray());
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, _input0), response.RawOutputContents[1].ToByteArray());
    }

    [Fact]
    public async Task Only_the_requested_outputs_come_back()
    {
        var response = await _server.Client.ModelInferAsync(Request(false, "OUTPUT1"));

        Assert.Equal("OUTPUT1", Assert.Single(response.Outputs).Name);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, _input1), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Fact]
    public async Task A_missing_input_is_invalid_and_named()
    {
        var request = Requests.Raw("pair", TensorDataType.Fp32, [1, 4], Requests.Sample(TensorDataType.Fp32, 4));

        var e = await Requests.FailsWith(Grpc.Core.StatusCode.InvalidArgument, () => _server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Contains("'INPUT1'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inputs_with_different_batch_sizes_are_invalid()
    {
        var request = Request();
        request.Inputs[1].Shape[0] = 2;
        request.RawInputContents[1] = ByteString.CopyFrom(Requests.Sample(TensorDataType.Int32, 2 * 2));

        var e = await Requests.FailsWith(Grpc.Core.StatusCode.InvalidArgument, () => _server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Contains("'INPUT1'", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("batch", e.Status.Detail, StringComparison.Ordinal);
    }
}
