using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;

namespace DataPlane.Simulation.Tests;

/// <summary>Messages far above gRPC's 4 MiB default pass both ways, as Triton accepts up to 2 GiB − 1.</summary>
public sealed class LargeMessageTests : IAsyncLifetime
{
    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_200_MiB_request_to_an_echo_model_is_answered_in_full()
    {
        const int size = 200 << 20;
        var raw = new byte[size];
        raw[0] = 0xFF;
        raw[size - 1] = 41;
        var request = new ModelInferRequest { ModelName = "echo_uint8", Id = "big" };
        request.Inputs.Add(Requests.Input("INPUT0", TensorDataType.UInt8, [1, size]));
        request.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(raw));

        var response = await _server.Client.ModelInferAsync(request);

        Assert.Equal([1L, size], response.Outputs.Single().Shape);
        var output = response.RawOutputContents.Single().Span;
        Assert.Equal(size, output.Length);
        Assert.Equal(0, output[0]);
        Assert.Equal(1, output[1]);
        Assert.Equal(42, output[size - 1]);
    }
}
