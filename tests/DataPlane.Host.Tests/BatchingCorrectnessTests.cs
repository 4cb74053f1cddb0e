using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;

namespace DataPlane.Host.Tests;

/// <summary>Many concurrent requests with distinct inputs: each gets exactly its own slice back,
/// whatever shapes, datatypes and batch splits the batcher chose.</summary>
public class BatchingCorrectnessTests
{
    [Theory]
    [InlineData("adaptive", 1)]
    [InlineData("fixed", 2)]
    [InlineData("none", 3)]
    public async Task Every_request_gets_its_own_slice_back(string policy, int seed)
    {
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?> { ["Batching:Defaults:Policy"] = policy });
        var random = new Random(seed);
        var types = TensorDataTypes.All;
        var pending = new List<Task<(byte[] Expected, long[] Shape, string Id, ModelInferResponse Response)>>();
        for (int i = 0; i < 400; i++)
        {
            // A few datatypes and row widths so some requests share batches and some must not.
            var type = types[random.Next(types.Count)];
            long rows = random.Next(1, 5);
            long width = random.Next(1, 4);
            byte[] raw = Tensors.RandomRaw(random, type, rows * width);
            string id = $"r{i}";
            var request = Tensors.Raw(SimulationOptions.EchoModelName(type), type, [rows, width], raw, id);
            pending.Add(Send(h, request, SimulatedTransform.Apply(type, raw), [rows, width], id));
        }

        foreach (var (expected, shape, id, response) in await Task.WhenAll(pending))
        {
            Assert.Equal(id, response.Id);
            Assert.Equal(shape, response.Outputs[0].Shape);
            Assert.Equal(expected, Tensors.Output0(response));
        }

        // The requests really were batched (except with policy none).
        var stats = await h.Client.ModelStatisticsAsync(new ModelStatisticsRequest());
        ulong executions = stats.ModelStats.Aggregate(0UL, (s, m) => s + m.ExecutionCount);
        ulong requests = stats.ModelStats.Aggregate(0UL, (s, m) => s + m.InferenceStats.Success.Count);
        Assert.Equal(400UL, requests);
        if (policy == "none")
        {
            Assert.Equal(400UL, executions);
        }
        else
        {
            Assert.True(executions < requests, $"{executions} executions for {requests} requests: nothing was batched");
        }
    }

    [Fact]
    public async Task Batches_never_exceed_the_model_max_and_mixed_widths_never_share_a_batch()
    {
        await using var h = await DaemonHarness.StartAsync();
        var pending = new List<Task<ModelInferResponse>>();
        for (int i = 0; i < 120; i++)
        {
            // Rows of 30 and 8 values interleaved; model max batch 64 rows.
            long width = i % 2 == 0 ? 3 : 8;
            var raw = new byte[7 * width * 4];
            new Random(i).NextBytes(raw);
            pending.Add(h.Client.ModelInferAsync(Tensors.Raw("echo_uint32", TensorDataType.UInt32, [7, width], raw)).ResponseAsync);
        }

        await Task.WhenAll(pending);
        var stats = (await h.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "echo_uint32" })).ModelStats[0];
        Assert.All(stats.BatchStats, b => Assert.True(b.BatchSize <= 64, $"batch of {b.BatchSize} rows"));
        Assert.All(stats.BatchStats, b => Assert.Equal(0UL, b.BatchSize % 7));
        Assert.Equal(840UL, stats.InferenceCount);
    }

    private static async Task<(byte[], long[], string, ModelInferResponse)> Send(DaemonHarness h, ModelInferRequest request, byte[] expected, long[] shape, string id) =>
        (expected, shape, id, await h.Client.ModelInferAsync(request));
}
