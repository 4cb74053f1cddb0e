using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Queueing;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Batching.Tests;

/// <summary>Deadline-aware admission through a real <see cref="ModelBatcher"/> whose upstream answers only when the test
/// says so: a request that cannot be answered within its deadline, or would wait longer than the queue-time bound, is
/// refused at once instead of being queued to expire.</summary>
public sealed class AdmissionTests : IDisposable
{
    // Predictions use a batch time far above anything a stalled test machine adds between two calls, so the
    // arithmetic below holds however slowly the test runs.
    private static readonly TimeSpan s_batch = TimeSpan.FromSeconds(10);

    private readonly HeldUpstream _upstream = new();
    private ModelBatcher? _batcher;

    public void Dispose() => _batcher?.Dispose();

    /// <summary>One instance, one row per batch, nothing sent ahead, an upstream believed to take
    /// <paramref name="batch"/> (default <see cref="s_batch"/>) per batch.</summary>
    private ModelBatcher Batcher(TimeSpan maxQueueTime, TimeSpan? batch = null)
    {
        var config = new ModelConfig { Name = "m", MaxBatchSize = 1 };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 1 });
        var options = new ModelBatchingOptions
        {
            Policy = BatchPolicyKind.None,
            PipelineDepth = 0,
            MaxQueueTime = maxQueueTime,
            InitialLatencyIntercept = batch ?? s_batch,
            InitialLatencyPerItem = TimeSpan.Zero,
        };
        _batcher = new ModelBatcher(new ModelDescriptor(config, "1"), options, _upstream, TensorLimits.Default,
            new BatchingMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger.Instance);
        return _batcher;
    }

    private static PendingRequest Request(ModelBatcher batcher, int value, TimeSpan? deadline, TimeSpan maxQueueTime)
    {
        var r = Support.Request("m", "INT32", [1, 1], BitConverter.GetBytes(value));
        long now = batcher.NowNs;
        long own = deadline is { } d ? now + (long)d.TotalNanoseconds : long.MaxValue;
        long bound = maxQueueTime > TimeSpan.Zero ? Math.Min(own, now + (long)maxQueueTime.TotalNanoseconds) : own;
        var p = Support.Pending(r, arrival: now);
        return new PendingRequest(p.Message, p.Inputs, p.Rows, p.Signature, 0, now, bound, long.MaxValue) { ClientDeadlineNs = own };
    }

    [Fact]
    public async Task A_request_that_cannot_finish_by_its_deadline_is_refused_at_once_with_the_prediction()
    {
        var batcher = Batcher(TimeSpan.Zero);
        var deadline = TimeSpan.FromSeconds(55);
        var first = batcher.Submit(Request(batcher, 0, deadline, TimeSpan.Zero));
        var call = await _upstream.NextAsync();

        // Behind the running batch, request k is predicted to finish after 10 s × (k + 1): four fit in 55 s.
        var admitted = Enumerable.Range(1, 4).Select(k => batcher.Submit(Request(batcher, k, deadline, TimeSpan.Zero))).ToList();
        Assert.All(admitted, t => Assert.False(t.IsCompleted));
        var refused = batcher.Submit(Request(batcher, 5, deadline, TimeSpan.Zero));
        Assert.True(refused.IsCompleted, "a request that cannot meet its deadline is answered at admission, not queued");
        var e = await Assert.ThrowsAsync<RpcException>(() => refused);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("predicted completion in ", e.Status.Detail);
        Assert.Contains("is past the request's deadline in", e.Status.Detail);
        Assert.Contains("4 requests (4 rows) ahead, upstream 10000 ms + 0 ms per row", e.Status.Detail);
        Assert.Equal(4, batcher.Waiting);

        call.Answer();
        await first;
        for (int i = 0; i < 4; i++)
        {
            (await _upstream.NextAsync()).Answer();
        }

        await Task.WhenAll(admitted);
    }

    [Fact]
    public async Task Without_a_deadline_the_queue_time_bound_refuses_what_would_wait_too_long()
    {
        var bound = TimeSpan.FromSeconds(100);
        var batcher = Batcher(bound);
        var first = batcher.Submit(Request(batcher, 0, null, bound));
        var call = await _upstream.NextAsync();

        // Request k waits up to 10 s for the running batch plus 10 s for each of the k - 1 queued before it.
        var admitted = Enumerable.Range(1, 10).Select(k => batcher.Submit(Request(batcher, k, null, bound))).ToList();
        Assert.All(admitted, t => Assert.False(t.IsCompleted));
        var refused = batcher.Submit(Request(batcher, 11, null, bound));
        var e = await Assert.ThrowsAsync<RpcException>(() => refused);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("predicted queue wait ", e.Status.Detail);
        Assert.Contains("(100000 ms, MaxQueueTimeMs)", e.Status.Detail);

        batcher.FailQueued(StatusCode.Unavailable, "test over");
        call.Answer();
        await first;
    }

    [Fact]
    public async Task A_request_that_outwaits_the_queue_time_bound_gets_tritons_request_timeout()
    {
        // An upstream believed to take 1 ms admits the second request, but it holds the first for as long as the test
        // likes: the second outwaits the 50 ms bound in the queue and gets Triton's queue-timeout answer.
        var bound = TimeSpan.FromMilliseconds(50);
        var batcher = Batcher(bound, batch: TimeSpan.FromMilliseconds(1));
        var first = batcher.Submit(Request(batcher, 0, null, bound));
        var call = await _upstream.NextAsync();
        var second = batcher.Submit(Request(batcher, 1, null, bound));
        var e = await Assert.ThrowsAsync<RpcException>(() => second);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("Request timeout expired", e.Status.Detail);
        Assert.Equal(1, _upstream.Calls);

        call.Answer();
        await first;
    }
}
