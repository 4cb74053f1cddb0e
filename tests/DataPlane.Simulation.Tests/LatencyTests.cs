using System.Diagnostics;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>The latency model and one-at-a-time execution. Timing is asserted as lower bounds only:
/// a loaded machine may make anything slower, never faster.</summary>
public sealed class LatencyTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        Models =
        [
            .. SimulationOptions.DefaultModels.Where(m => m.Name == "simple"),
            Slow("slow_a", 150),
            Slow("slow_b", 1500),
            SimulatedModelOptions.SingleTensor("jittery", TensorDataType.Int32, 1) with
            {
                MaxBatchSize = 4,
                BaseLatency = TimeSpan.FromMilliseconds(2),
                Jitter = TimeSpan.FromMilliseconds(3),
            },
        ],
    };

    private SimulatedTritonServer _server = null!;

    private static SimulatedModelOptions Slow(string name, int milliseconds) => SimulatedModelOptions.SingleTensor(name, TensorDataType.Int32, 1) with
    {
        MaxBatchSize = 4,
        Instances = 1,
        BaseLatency = TimeSpan.FromMilliseconds(milliseconds),
    };

    public async Task InitializeAsync()
    {
        _server = await SimulatedTritonServer.StartAsync(Options);

        // Open the connection, so that no test measures its set-up.
        await _server.Client.ServerLiveAsync(new ServerLiveRequest());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<ModelStatistics> StatisticsAsync(string model) =>
        (await _server.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model })).ModelStats.Single();

    [Fact]
    public async Task A_batch_of_ten_on_simple_takes_at_least_base_plus_ten_items()
    {
        var watch = Stopwatch.StartNew();
        await _server.Client.ModelInferAsync(Requests.Simple(10));
        watch.Stop();

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(7), $"took {watch.Elapsed.TotalMilliseconds} ms, less than 5 + 10 × 0.2 ms");

        // The server's own view of the execution says the same.
        var stats = await StatisticsAsync("simple");
        var batch = Assert.Single(stats.BatchStats, b => b.BatchSize == 10);
        Assert.Equal(1ul, batch.ComputeInfer.Count);
        Assert.True(batch.ComputeInfer.Ns >= 7_000_000, $"compute_infer was {batch.ComputeInfer.Ns} ns");
    }

    [Fact]
    public async Task Two_concurrent_requests_on_one_instance_run_one_after_the_other()
    {
        var watch = Stopwatch.StartNew();
        var first = _server.Client.ModelInferAsync(Requests.Simple(1)).ResponseAsync;
        var second = _server.Client.ModelInferAsync(Requests.Simple(1)).ResponseAsync;
        await Task.WhenAll(first, second);
        watch.Stop();

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(2 * 5), $"took {watch.Elapsed.TotalMilliseconds} ms, less than 2 × 5 ms");
    }

    [Fact]
    public async Task Concurrent_requests_on_one_instance_never_overlap()
    {
        // With 150 ms per execution, overlapping executions would finish in about 150 ms.
        var watch = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, 3)
            .Select(_ => _server.Client.ModelInferAsync(Requests.Raw("slow_a", TensorDataType.Int32, [1, 1], new byte[4])).ResponseAsync)
            .ToArray();
        await Task.WhenAll(calls);
        watch.Stop();

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(3 * 150), $"took {watch.Elapsed.TotalMilliseconds} ms, less than 3 × 150 ms");
        var stats = await StatisticsAsync("slow_a");
        Assert.Equal(3ul, stats.ExecutionCount);
        Assert.True(stats.InferenceStats.ComputeInfer.Ns >= 3 * 150_000_000ul);

        // Whatever their arrival order, the second waited for one execution and the third for two
        // (450 ms in all, less the gaps between their arrivals); running side by side, none would wait.
        Assert.True(stats.InferenceStats.Queue.Ns >= 200_000_000ul, $"queued {stats.InferenceStats.Queue.Ns} ns in all");
    }

    [Fact]
    public async Task A_request_whose_deadline_passes_while_queued_never_executes()
    {
        // Two requests whose deadlines pass long before the 1.5 s execution of the one that runs first
        // ends: the other leaves the queue, so a request sent afterwards is only the second execution.
        // (The long execution keeps the second request queued even when a busy machine delays its arrival.)
        var request = Requests.Raw("slow_b", TensorDataType.Int32, [1, 1], new byte[4]);
        var deadline = DateTime.UtcNow.AddMilliseconds(60);
        var a = _server.Client.ModelInferAsync(request, deadline: deadline).ResponseAsync;
        var b = _server.Client.ModelInferAsync(request, deadline: deadline).ResponseAsync;
        await Requests.FailsWith(StatusCode.DeadlineExceeded, () => a);
        await Requests.FailsWith(StatusCode.DeadlineExceeded, () => b);

        await _server.Client.ModelInferAsync(request);

        var stats = await StatisticsAsync("slow_b");
        Assert.Equal(2ul, stats.ExecutionCount);
        Assert.Equal(1ul, stats.InferenceStats.Fail.Count);
    }

    [Fact]
    public async Task Jitter_adds_latency_but_never_removes_any()
    {
        for (int i = 0; i < 5; i++)
        {
            await _server.Client.ModelInferAsync(Requests.Raw("jittery", TensorDataType.Int32, [2, 1], new byte[8]));
        }

        var stats = await StatisticsAsync("jittery");
        Assert.Equal(5ul, stats.ExecutionCount);
        Assert.True(stats.InferenceStats.ComputeInfer.Ns >= 5 * 2_000_000ul);
    }
}
