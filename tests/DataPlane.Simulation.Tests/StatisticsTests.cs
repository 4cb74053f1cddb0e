using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>ModelStatistics counted as Triton's core counts them: per request, per execution, per batch size and, for
/// decoupled models, per response index.</summary>
public sealed class StatisticsTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        AllowClientShm = true,
        Models =
        [
            SimulatedModelOptions.SingleTensor("batched", TensorDataType.Int32, 2) with { MaxBatchSize = 8, BaseLatency = TimeSpan.Zero },
            SimulatedModelOptions.LlmModel("chat") with { TimeToFirstToken = TimeSpan.FromMilliseconds(1), TokensPerSecond = 1000 },
            SimulatedModelOptions.SingleTensor("idle", TensorDataType.Int32, 2),
        ],
    };

    private readonly ManualTimeProvider _time = new();
    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(Options, _time);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<ModelStatistics> StatisticsAsync(string model) =>
        (await _server.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model })).ModelStats.Single();

    private static ModelInferRequest Batched(int rows) =>
        Requests.Raw("batched", TensorDataType.Int32, [rows, 2], Requests.Sample(TensorDataType.Int32, rows * 2));

    [Fact]
    public async Task Requests_executions_and_batch_sizes_are_counted_and_refused_requests_are_not()
    {
        await _server.Client.ModelInferAsync(Batched(3));
        await _server.Client.ModelInferAsync(Batched(5));
        await _server.Client.ModelInferAsync(Batched(3));
        await Requests.FailsWith(StatusCode.InvalidArgument,
            () => _server.Client.ModelInferAsync(Requests.Raw("batched", TensorDataType.Fp32, [1, 2], new byte[8])).ResponseAsync);

        var stats = await StatisticsAsync("batched");

        Assert.Equal(("batched", "1"), (stats.Name, stats.Version));
        var s = stats.InferenceStats;
        Assert.Equal(3ul, s.Success.Count);
        Assert.Equal(0ul, s.Fail.Count);
        Assert.Equal(s.Success.Count, s.Queue.Count);
        Assert.Equal([3ul, 3ul, 3ul], new[] { s.ComputeInput.Count, s.ComputeInfer.Count, s.ComputeOutput.Count });
        Assert.True(s.Success.Ns >= s.Queue.Ns + s.ComputeInfer.Ns, "a request's time includes its queueing and execution");
        Assert.Equal(11ul, stats.InferenceCount);
        Assert.Equal(3ul, stats.ExecutionCount);
        Assert.Equal([(3ul, 2ul), (5ul, 1ul)], stats.BatchStats.Select(b => (b.BatchSize, b.ComputeInfer.Count)));
        Assert.All(stats.BatchStats, b => Assert.Equal(b.ComputeInfer.Count, b.ComputeInput.Count));
        Assert.Equal((ulong)_time.GetUtcNow().ToUnixTimeMilliseconds(), stats.LastInference);
        Assert.Empty(stats.ResponseStats);
    }

    [Fact]
    public async Task A_request_that_fails_after_executing_counts_as_failed_and_its_execution_still_counts()
    {
        using var shm = new SharedMemoryFile(64);
        await _server.Client.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = "out", Key = shm.Key, ByteSize = 64 });
        var request = Batched(2);
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" };
        output.Parameters[SharedMemoryLocation.RegionKey] = new InferParameter { StringParam = "out" };
        output.Parameters[SharedMemoryLocation.ByteSizeKey] = new InferParameter { Int64Param = 8 };
        request.Outputs.Add(output);

        var e = await Requests.FailsWith(StatusCode.Internal, () => _server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal("shared memory size specified with the request for output 'OUTPUT0' (8 bytes) should be at least 16 bytes to hold the results", e.Status.Detail);
        var stats = await StatisticsAsync("batched");
        Assert.Equal(1ul, stats.InferenceStats.Fail.Count);
        Assert.Equal(0ul, stats.InferenceStats.Success.Count);
        Assert.Equal(0ul, stats.InferenceStats.Queue.Count);
        Assert.Equal(1ul, stats.ExecutionCount);
        Assert.Equal(2ul, stats.InferenceCount);
    }

    [Fact]
    public async Task Streamed_llm_requests_count_once_each_and_every_response_counts_under_its_index()
    {
        using var call = _server.Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Requests.Llm("one", maxTokens: 3, model: "chat", id: "a"));
        await call.RequestStream.WriteAsync(Requests.Llm("two", maxTokens: 3, model: "chat", id: "b", emptyFinal: true));
        await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count(Requests.EndsRequest) == 2);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        var stats = await StatisticsAsync("chat");

        var s = stats.InferenceStats;
        Assert.Equal((2ul, 0ul), (s.Success.Count, s.Fail.Count));
        Assert.Equal([2ul, 2ul, 2ul, 2ul], new[] { s.Queue.Count, s.ComputeInput.Count, s.ComputeInfer.Count, s.ComputeOutput.Count });
        Assert.Equal(2ul, stats.InferenceCount);
        Assert.Equal(2ul, stats.ExecutionCount);
        Assert.Equal((1ul, 2ul), (stats.BatchStats.Single().BatchSize, stats.BatchStats.Single().ComputeInfer.Count));
        Assert.Equal(["0", "1", "2", "3"], stats.ResponseStats.Keys);
        foreach (var key in new[] { "0", "1", "2" })
        {
            Assert.Equal(2ul, stats.ResponseStats[key].Success.Count);
            Assert.Equal(2ul, stats.ResponseStats[key].ComputeInfer.Count);
            Assert.Equal(0ul, stats.ResponseStats[key].EmptyResponse.Count);
        }

        Assert.Equal(0ul, stats.ResponseStats["3"].Success.Count);
        Assert.Equal(1ul, stats.ResponseStats["3"].EmptyResponse.Count);
    }

    [Fact]
    public async Task Without_a_name_every_ready_model_is_listed_sorted_by_name()
    {
        var all = await _server.Client.ModelStatisticsAsync(new ModelStatisticsRequest());

        Assert.Equal(["batched", "chat", "idle"], all.ModelStats.Select(m => m.Name));
        var idle = all.ModelStats[2];
        Assert.Equal(("1", 0ul, 0ul), (idle.Version, idle.InferenceCount, idle.LastInference));
    }
}
