using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;

namespace DataPlane.Simulation.Tests;

/// <summary>ModelStreamInfer writes the responses of non-decoupled models in request order, whatever order they finish
/// in, as Triton does.</summary>
public sealed class StreamOrderTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        Models =
        [
            // Two instances, 40 ms per row: a request of 8 rows takes 320 ms, one of 1 row 40 ms, side by side.
            SimulatedModelOptions.SingleTensor("rows", TensorDataType.Int32, 1) with
            {
                MaxBatchSize = 8,
                Instances = 2,
                BaseLatency = TimeSpan.Zero,
                PerItemLatency = TimeSpan.FromMilliseconds(40),
            },
        ],
    };

    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(Options);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ModelInferRequest Rows(int rows, string id)
    {
        var request = Requests.Raw("rows", TensorDataType.Int32, [rows, 1], new byte[4 * rows]);
        request.Id = id;
        return request;
    }

    [Fact]
    public async Task A_slow_request_answers_before_the_fast_ones_and_errors_sent_after_it()
    {
        using var call = _server.Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Rows(8, "slow"));
        await call.RequestStream.WriteAsync(Rows(1, "fast"));
        var unknown = Requests.Raw("nope", TensorDataType.Int32, [1, 1], new byte[4]);
        unknown.Id = "unknown";
        await call.RequestStream.WriteAsync(unknown);
        await call.RequestStream.WriteAsync(Rows(1, "last"));

        var responses = await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count == 4);
        await call.RequestStream.CompleteAsync();

        Assert.Equal(["slow", "fast", "unknown", "last"], responses.Select(r => r.InferResponse.Id));
        Assert.Equal("Request for unknown model: 'nope' is not found", responses[2].ErrorMessage);
        Assert.All(responses.Where(r => r.ErrorMessage.Length == 0), r => Assert.True(Requests.IsFinal(r.InferResponse)));
        Assert.Equal([8L, 1L], responses[0].InferResponse.Outputs.Single().Shape);
    }
}
