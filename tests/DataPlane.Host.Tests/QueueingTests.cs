using System.Diagnostics;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>Deadlines, the bounded queue and priorities, against a deliberately slow model.</summary>
public class QueueingTests
{
    // Requests queued behind a one-second model wait about as long as the default queue-time bound (1 s); tests of
    // other bounds switch it off so that a busy machine cannot answer them "Request timeout expired" first.
    private static readonly Dictionary<string, string?> NoQueueTimeBound = new() { ["Batching:Models:slow:MaxQueueTimeMs"] = "0" };

    // Deadline tests also send nothing ahead: with pipelining, a queued request and the one under test could leave
    // together in the batch sent ahead of the running one's answer, and the latter be answered by the model.
    private static readonly Dictionary<string, string?> NoQueueOrPipeline = new(NoQueueTimeBound) { ["Batching:Models:slow:PipelineDepth"] = "0" };

    private static async Task<ModelStatistics> SimulatorStatsAsync(DaemonHarness h, string model)
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(h.Simulator.Address);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        return (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model })).ModelStats.Single();
    }

    /// <summary>Waits until model "slow" has <paramref name="inflight"/> requests admitted, <paramref name="queued"/>
    /// of them still in its queue (any number when null): the order of arrival the test relies on, without
    /// guessing with sleeps.</summary>
    private static Task SlowModelHoldsAsync(DaemonHarness h, int inflight, int? queued) =>
        Eventually.TrueAsync(async () =>
            {
                string text = await h.MetricsTextAsync();
                return text.Contains($"dataplane_inflight_requests{{model=\"slow\"}} {inflight}\n", StringComparison.Ordinal)
                    && (queued is null || text.Contains($"dataplane_queue_depth{{model=\"slow\"}} {queued}\n", StringComparison.Ordinal));
            },
            TimeSpan.FromSeconds(10), $"{inflight} requests in flight, {queued?.ToString() ?? "any"} of them queued");

    [Fact]
    public async Task Timeout_parameter_expires_a_queued_request_without_sending_it_upstream()
    {
        // A model slow enough that "answered at the deadline" and "answered when the model got round to it"
        // (about two seconds) stay far apart even when a busy machine stalls the test for a while.
        await using var h = await DaemonHarness.StartAsync(NoQueueOrPipeline, SlowModels.With(1000));
        var first = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var second = h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 2, queued: 1);

        var late = SlowModels.Request(3);
        late.Parameters["timeout"] = new InferParameter { Int64Param = 50_000 }; // 50 ms
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(late).ResponseAsync);
        watch.Stop();
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Contains("in the queue of model 'slow'", e.Status.Detail);
        Assert.Contains("not sent upstream", e.Status.Detail);
        // Answered at its deadline, not when the model got round to it (about 2 s).
        Assert.InRange(watch.ElapsedMilliseconds, 45, 1000);

        await Task.WhenAll(first, second);
        var stats = await SimulatorStatsAsync(h, "slow");
        Assert.Equal(2UL, stats.InferenceCount);
        Assert.Contains("dataplane_rejections_total{model=\"slow\",reason=\"deadline_in_queue\"} 1", await h.MetricsTextAsync());
    }

    [Fact]
    public async Task Grpc_deadline_is_honoured_while_queued()
    {
        await using var h = await DaemonHarness.StartAsync(NoQueueOrPipeline, SlowModels.With(1000));
        var first = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var second = h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 2, queued: 1);
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            h.Client.ModelInferAsync(SlowModels.Request(3), deadline: DateTime.UtcNow.AddMilliseconds(60)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.InRange(watch.ElapsedMilliseconds, 50, 1000);
        await Task.WhenAll(first, second);

        await Eventually.TrueAsync(async () =>
            (await h.MetricsTextAsync()).Contains("dataplane_requests_total{model=\"slow\",outcome=\"deadline_exceeded\"} 1"),
            TimeSpan.FromSeconds(5), "the deadline to be counted");
        Assert.Equal(2UL, (await SimulatorStatsAsync(h, "slow")).InferenceCount);
    }

    [Fact]
    public async Task Model_slo_bounds_the_time_in_the_queue()
    {
        await using var h = await DaemonHarness.StartAsync(
            new Dictionary<string, string?> { ["Batching:Models:slow:SloMs"] = "80", ["Batching:Models:slow:PipelineDepth"] = "0" }, SlowModels.With(200));
        var first = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await first;
    }

    [Fact]
    public async Task Full_queue_refuses_at_once_with_tritons_unavailable()
    {
        await using var h = await DaemonHarness.StartAsync(
            new Dictionary<string, string?>
            {
                ["Batching:Models:slow:MaxQueueSize"] = "2",
                ["Batching:Models:slow:PipelineDepth"] = "0",
                ["Batching:Models:slow:MaxQueueTimeMs"] = "0",
            },
            SlowModels.With(1500));
        var running = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var queued = new[] { h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync, h.Client.ModelInferAsync(SlowModels.Request(3)).ResponseAsync };
        await SlowModelHoldsAsync(h, inflight: 3, queued: 2);

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(SlowModels.Request(4)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("[request id: <id_unknown>] Exceeds maximum queue size: model 'slow' has 2 requests waiting, its limit; retry later", e.Status.Detail);
        Assert.True(watch.ElapsedMilliseconds < 1000, "a full queue must refuse at once, not after the running batch");

        await running;
        await Task.WhenAll(queued);
        Assert.Contains("dataplane_rejections_total{model=\"slow\",reason=\"queue_full\"} 1", await h.MetricsTextAsync());
    }

    [Fact]
    public async Task The_queue_byte_budget_refuses_a_request_that_would_exceed_it_with_the_figures()
    {
        // Each request holds 4 bytes of input: a budget of 6 bytes takes one waiting request, not two.
        await using var h = await DaemonHarness.StartAsync(
            new Dictionary<string, string?>
            {
                ["Batching:Models:slow:MaxQueueBytes"] = "6",
                ["Batching:Models:slow:PipelineDepth"] = "0",
                ["Batching:Models:slow:MaxQueueTimeMs"] = "0",
            },
            SlowModels.With(1500));
        var running = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var queued = h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 2, queued: 1);

        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(SlowModels.Request(3)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal("request of 4 bytes would take the waiting requests of model 'slow' from 4 to 8 bytes, over its budget of 6 bytes " +
            "(MaxQueueBytes); retry later", e.Status.Detail);

        // What was admitted is answered, and the budget frees as requests leave the queue.
        await running;
        await queued;
        Assert.Single((await h.Client.ModelInferAsync(SlowModels.Request(4))).Outputs);
        Assert.Contains("dataplane_rejections_total{model=\"slow\",reason=\"queue_bytes\"} 1", await h.MetricsTextAsync());
    }

    [Fact]
    public async Task At_ten_times_capacity_excess_is_refused_at_admission_and_admitted_requests_meet_their_deadline()
    {
        // `slow`: 200 ms per batch of up to 8 rows on one instance, about 40 requests/s. The default queue-time bound
        // (1 s) lets about five batches wait; the rest of a burst is refused at once with the predicted wait.
        await using var h = await DaemonHarness.StartAsync(
            new Dictionary<string, string?> { ["Batching:Models:slow:PipelineDepth"] = "0" }, SlowModels.With(200));
        for (int i = 0; i < 2; i++)
        {
            await h.Client.ModelInferAsync(SlowModels.Request(i)); // the batcher learns the model's latency
        }

        var deadline = TimeSpan.FromSeconds(4);
        var calls = Enumerable.Range(0, 400).Select(async i =>
        {
            try
            {
                await h.Client.ModelInferAsync(SlowModels.Request(i), deadline: DateTime.UtcNow + deadline);
                return (Code: StatusCode.OK, Detail: "");
            }
            catch (RpcException e)
            {
                return (Code: e.StatusCode, Detail: e.Status.Detail);
            }
        }).ToList();
        var outcomes = await Task.WhenAll(calls);

        var refused = outcomes.Where(o => o.Code == StatusCode.ResourceExhausted).ToList();
        Assert.True(refused.Count >= 250, $"only {refused.Count} of 400 refused at admission");
        Assert.All(refused, o => Assert.StartsWith("predicted queue wait ", o.Detail));
        // Nothing admitted ran out of its own deadline: it was served, or (rarely, on a stalled machine) answered by the
        // queue-time bound, which comes well before the deadline.
        Assert.DoesNotContain(outcomes, o => o.Code == StatusCode.DeadlineExceeded);
        Assert.All(outcomes.Where(o => o.Code is not (StatusCode.OK or StatusCode.ResourceExhausted)),
            o => Assert.Equal((StatusCode.Unavailable, "Request timeout expired"), o));
        Assert.True(outcomes.Count(o => o.Code == StatusCode.OK) >= 8, "the model kept serving");
        Assert.Contains($"dataplane_rejections_total{{model=\"slow\",reason=\"predicted_late\"}} {refused.Count}\n", await h.MetricsTextAsync());
    }

    [Fact]
    public async Task Higher_priority_requests_are_served_first()
    {
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Batching:Models:slow:Policy"] = "none",
            ["Batching:Models:slow:PipelineDepth"] = "0",
            ["Batching:Models:slow:MaxQueueTimeMs"] = "0", // the last request waits three model calls on a busy machine
        }, SlowModels.With(300));
        var order = new List<string>();
        async Task Run(ModelInferRequest r)
        {
            var response = await h.Client.ModelInferAsync(r);
            lock (order)
            {
                order.Add(response.Id);
            }
        }

        var blocker = Run(SlowModels.Request(0, "blocker"));
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        var tasks = new List<Task> { blocker };
        int queued = 0;
        foreach (var (id, priority) in new[] { ("low1", 2L), ("low2", 0L), ("high", 1L) })
        {
            var r = SlowModels.Request(1, id);
            r.Parameters["priority"] = new InferParameter { Int64Param = priority };
            tasks.Add(Run(r));
            queued++;
            await SlowModelHoldsAsync(h, inflight: 1 + queued, queued: queued);
        }

        await Task.WhenAll(tasks);
        Assert.Equal(["blocker", "high", "low1", "low2"], order);
    }

    [Fact]
    public async Task Cancelled_calls_leave_the_queue()
    {
        await using var h = await DaemonHarness.StartAsync(
            new Dictionary<string, string?> { ["Batching:Models:slow:PipelineDepth"] = "0" }, SlowModels.With(1000));
        var first = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 1, queued: 0);
        using var cts = new CancellationTokenSource();
        var cancelled = h.Client.ModelInferAsync(SlowModels.Request(2), cancellationToken: cts.Token).ResponseAsync;
        await SlowModelHoldsAsync(h, inflight: 2, queued: 1);
        await cts.CancelAsync();
        var e = await Assert.ThrowsAsync<RpcException>(() => cancelled);
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        await first;
        await Eventually.TrueAsync(async () =>
            (await h.MetricsTextAsync()).Contains("dataplane_requests_total{model=\"slow\",outcome=\"cancelled\"} 1"),
            TimeSpan.FromSeconds(5), "the cancellation to be counted");
        Assert.Equal(1UL, (await SimulatorStatsAsync(h, "slow")).InferenceCount);
    }
}
