using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Queueing;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Batching.Tests.Batching;

/// <summary>The batcher's decisions on a virtual clock: a <see cref="FakeTimeProvider"/> is its clock and its timer
/// (<see cref="TimeProviderDispatchTimer"/>), and the upstream records the virtual time each batch left. Nothing here
/// waits on real time: a decision made at an arrival or a timer has sent its batch by the time <c>Submit</c> or
/// <c>Advance</c> returns, and one made when a batch completes has sent its batch before that batch's requests are
/// answered. The rules are those of docs/ARCHITECTURE.md, "When a batch is sent" and "Upstream slots and pipelining".</summary>
public sealed class ModelBatcherTests : IDisposable
{
    // The fake clock's timestamps are its ticks, and the batcher's nanoseconds are ticks × 100 in double arithmetic:
    // exact only below 2^53 ns (about 104 days of ticks), so the clock starts a day into year 1, not at its default.
    private static readonly DateTimeOffset s_start = new(1, 1, 2, 0, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan s_tick = TimeSpan.FromTicks(1);

    private readonly FakeTimeProvider _time = new(s_start);
    private readonly ClockedUpstream _upstream;
    private ModelBatcher? _batcher;

    public ModelBatcherTests() => _upstream = new ClockedUpstream(_time);

    public void Dispose() => _batcher?.Dispose();

    /// <summary>One instance of a model of up to <paramref name="maxBatch"/> rows. Unless a test says otherwise: nothing
    /// sent ahead, no queue-time bound, an upstream believed to take 10 ms a batch whatever its size.</summary>
    private ModelBatcher Batcher(ModelBatchingOptions options, int maxBatch = 8)
    {
        var config = new ModelConfig { Name = "m", MaxBatchSize = maxBatch };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 1 });
        _batcher = new ModelBatcher(new ModelDescriptor(config, "1"), options, _upstream, TensorLimits.Default,
            new BatchingMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger.Instance, _time,
            timers: TimeProviderDispatchTimer.Factory(_time));
        return _batcher;
    }

    private static ModelBatchingOptions Options(BatchPolicyKind policy) => new()
    {
        Policy = policy,
        PipelineDepth = 0,
        MaxQueueTime = TimeSpan.Zero,
        InitialLatencyIntercept = TimeSpan.FromMilliseconds(10),
        InitialLatencyPerItem = TimeSpan.Zero,
    };

    /// <summary>A one-row request carrying <paramref name="value"/>, arriving now, with its own deadline and the
    /// queue-time bound (if any) as the daemon's front end computes them.</summary>
    private PendingRequest Request(int value, int level = 0, TimeSpan? deadline = null, TimeSpan? queueBound = null)
    {
        long now = _batcher!.NowNs;
        long own = deadline is { } d ? now + (long)d.TotalNanoseconds : long.MaxValue;
        long bound = queueBound is { } q ? Math.Min(own, now + (long)q.TotalNanoseconds) : own;
        var p = Support.Pending(Support.Request("m", "INT32", [1, 1], BitConverter.GetBytes(value)));
        return new PendingRequest(p.Message, p.Inputs, p.Rows, p.Signature, level, now, bound, long.MaxValue) { ClientDeadlineNs = own };
    }

    private Task<ModelInferResponse> Submit(int value, int level = 0, TimeSpan? deadline = null, TimeSpan? queueBound = null) =>
        _batcher!.Submit(Request(value, level, deadline, queueBound));

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    /// <summary>Virtual time since the test began.</summary>
    private static TimeSpan At(ClockedCall call) => call.SentAt - s_start;

    private static int Answer(ModelInferResponse response) => BitConverter.ToInt32(response.RawOutputContents[0].Span);

    private static async Task<RpcException> Refused(Task<ModelInferResponse> answer)
    {
        Assert.True(answer.IsCompleted, "answered by the decision itself, not later");
        return await Assert.ThrowsAsync<RpcException>(() => answer);
    }

    [Fact]
    public async Task Adaptive_window_opens_at_the_arrival_and_closes_at_its_end_never_extended_by_later_arrivals()
    {
        var options = Options(BatchPolicyKind.Adaptive) with { InitialLatencyIntercept = Ms(20) };
        Batcher(options);

        // No arrival rate yet: the first request goes at once.
        var first = Submit(1);
        var a = Assert.Single(_upstream.Calls);
        Assert.Equal(TimeSpan.Zero, At(a));
        a.Answer();
        Assert.Equal(1, Answer(await first));

        // One arrival per ms against a 20 ms batch: worth waiting for a full batch (8 rows, 7 ms away), clamped to the
        // 5 ms maximum window from the moment the request could first go (its arrival at 1 ms): the window ends at 6 ms.
        _time.Advance(Ms(1));
        var second = Submit(2);
        _time.Advance(Ms(1));
        var third = Submit(3);
        Assert.Single(_upstream.Calls);

        _time.Advance(Ms(4) - s_tick);
        Assert.Single(_upstream.Calls);
        _time.Advance(s_tick);
        Assert.Equal(2, _upstream.Calls.Count);
        var b = _upstream.Calls[1];
        Assert.Equal(Ms(6), At(b));
        Assert.Equal([2, 3], b.Values);
        b.Answer();
        Assert.Equal(2, Answer(await second));
        Assert.Equal(3, Answer(await third));
    }

    [Fact]
    public async Task Under_light_load_the_adaptive_policy_sends_at_once()
    {
        Batcher(Options(BatchPolicyKind.Adaptive) with { InitialLatencyIntercept = Ms(20) });
        var first = Submit(1);
        _upstream.Calls[0].Answer();
        await first;

        // One arrival per 100 ms against a 20 ms batch: nobody else is expected in time to share it.
        _time.Advance(Ms(100));
        var second = Submit(2);
        Assert.Equal(2, _upstream.Calls.Count);
        Assert.Equal(Ms(100), At(_upstream.Calls[1]));
        _upstream.Calls[1].Answer();
        Assert.Equal(2, Answer(await second));
    }

    [Fact]
    public async Task A_full_batch_goes_at_once_inside_an_open_window()
    {
        Batcher(Options(BatchPolicyKind.Fixed) with { MaxQueueDelay = TimeSpan.FromSeconds(1) }, maxBatch: 4);
        var answers = new List<Task<ModelInferResponse>>();
        for (int i = 1; i <= 3; i++)
        {
            answers.Add(Submit(i));
            _time.Advance(Ms(1));
        }

        Assert.Empty(_upstream.Calls);
        answers.Add(Submit(4));
        answers.Add(Submit(5));
        var call = Assert.Single(_upstream.Calls);
        Assert.Equal(Ms(3), At(call));
        Assert.Equal([1, 2, 3, 4], call.Values);
        call.Answer();
        Assert.Equal([1, 2, 3, 4], (await Task.WhenAll(answers.Take(4))).Select(Answer));
        Assert.False(answers[4].IsCompleted);
        _batcher!.BeginDrain();
        _upstream.Calls[1].Answer();
        Assert.Equal(5, Answer(await answers[4]));
    }

    [Fact]
    public async Task Fixed_policy_sends_when_the_oldest_request_has_waited_its_delay()
    {
        Batcher(Options(BatchPolicyKind.Fixed) with { MaxQueueDelay = Ms(5) });
        var first = Submit(1);
        _time.Advance(Ms(2));
        var second = Submit(2);
        _time.Advance(Ms(3) - s_tick);
        Assert.Empty(_upstream.Calls);
        _time.Advance(s_tick);
        var call = Assert.Single(_upstream.Calls);
        Assert.Equal(Ms(5), At(call));
        Assert.Equal([1, 2], call.Values);
        call.Answer();
        Assert.Equal(1, Answer(await first));
        Assert.Equal(2, Answer(await second));
    }

    [Fact]
    public async Task A_deadline_that_passes_in_the_queue_is_answered_then_and_never_sent_upstream()
    {
        Batcher(Options(BatchPolicyKind.Fixed) with { MaxQueueDelay = Ms(10) });
        var late = Submit(1, deadline: Ms(3));
        var patient = Submit(2);

        _time.Advance(Ms(3) - s_tick);
        Assert.False(late.IsCompleted);
        _time.Advance(s_tick);
        var e = await Refused(late);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("deadline passed after 3 ms in the queue of model 'm' before a batch slot was free; not sent upstream", e.Status.Detail);
        Assert.Empty(_upstream.Calls);
        Assert.Equal(1, _batcher!.Waiting);

        _time.Advance(Ms(7));
        var call = Assert.Single(_upstream.Calls);
        Assert.Equal(Ms(10), At(call));
        Assert.Equal([2], call.Values);
        call.Answer();
        Assert.Equal(2, Answer(await patient));
    }

    [Fact]
    public async Task The_queue_time_bound_answers_tritons_request_timeout_in_the_queue()
    {
        var bound = Ms(50);
        Batcher(Options(BatchPolicyKind.None) with { InitialLatencyIntercept = Ms(1), MaxQueueTime = bound });
        var first = Submit(1, queueBound: bound);
        var running = Assert.Single(_upstream.Calls);

        // Predicted to wait 1 ms for the instance: admitted; held for as long as the test likes, it outwaits the bound.
        var second = Submit(2, queueBound: bound);
        _time.Advance(bound - s_tick);
        Assert.False(second.IsCompleted);
        _time.Advance(s_tick);
        var e = await Refused(second);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("Request timeout expired", e.Status.Detail);
        Assert.Single(_upstream.Calls);

        running.Answer();
        Assert.Equal(1, Answer(await first));
        Assert.Single(_upstream.Calls);
    }

    [Fact]
    public async Task A_predicted_wait_longer_than_the_queue_time_bound_is_refused_at_admission()
    {
        var bound = Ms(50);
        Batcher(Options(BatchPolicyKind.None) with { InitialLatencyIntercept = Ms(100), MaxQueueTime = bound });
        var first = Submit(1, queueBound: bound);
        _time.Advance(Ms(40));

        // The instance is believed busy until 100 ms: a request arriving at 40 ms would wait 60 ms.
        var e = await Refused(Submit(2, queueBound: bound));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("predicted queue wait 60 ms (0 requests (0 rows) ahead", e.Status.Detail);
        Assert.Contains("(50 ms, MaxQueueTimeMs)", e.Status.Detail);

        // At 50 ms the wait is down to the bound: admitted.
        _time.Advance(Ms(10));
        var admitted = Submit(3, queueBound: bound);
        Assert.False(admitted.IsCompleted);
        _upstream.Calls[0].Answer();
        Assert.Equal(1, Answer(await first));
        _upstream.Calls[1].Answer();
        Assert.Equal(3, Answer(await admitted));
    }

    [Fact]
    public async Task Higher_priority_goes_first_and_each_level_in_arrival_order_one_batch_per_instance()
    {
        Batcher(Options(BatchPolicyKind.None) with { PriorityLevels = 2 });
        var answers = new Dictionary<int, Task<ModelInferResponse>> { [0] = Submit(0, level: 1) };
        foreach (var (value, level) in new[] { (1, 1), (2, 0), (3, 1), (4, 0) })
        {
            answers[value] = Submit(value, level);
        }

        var order = new List<int>();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(i + 1, _upstream.Calls.Count);
            var call = _upstream.Calls[i];
            int value = Assert.Single(call.Values);
            order.Add(value);
            call.Answer();
            Assert.Equal(value, Answer(await answers[value]));
        }

        Assert.Equal([0, 2, 4, 1, 3], order);
        Assert.Equal(1, _upstream.MaxInFlight);
    }

    [Fact]
    public async Task A_batch_is_sent_ahead_a_lead_before_the_instance_frees_and_the_next_only_when_a_slot_frees()
    {
        var options = Options(BatchPolicyKind.None) with { PipelineDepth = 1, PipelineLead = Ms(1) };
        var batcher = Batcher(options);
        Assert.Equal(2, batcher.Slots);

        var first = Submit(1);
        var second = Submit(2);
        Assert.Single(_upstream.Calls);

        // The instance is predicted to free at 10 ms: the second batch leaves 1 ms before.
        _time.Advance(Ms(9) - s_tick);
        Assert.Single(_upstream.Calls);
        _time.Advance(s_tick);
        Assert.Equal(2, _upstream.Calls.Count);
        Assert.Equal(Ms(9), At(_upstream.Calls[1]));

        // Both slots are taken: a third request waits however long the first batch takes.
        var third = Submit(3);
        _time.Advance(Ms(91));
        Assert.Equal(2, _upstream.Calls.Count);

        // The first batch ends at 100 ms: the second starts executing and, having learnt that a batch takes 100 ms, the
        // batcher predicts it to end at 110 ms (from the prior of 10 ms it had when the second started); the third
        // leaves a lead before, at 109 ms.
        _upstream.Calls[0].Answer();
        Assert.Equal(1, Answer(await first));
        Assert.Equal(2, _upstream.Calls.Count);
        _time.Advance(Ms(9) - s_tick);
        Assert.Equal(2, _upstream.Calls.Count);
        _time.Advance(s_tick);
        Assert.Equal(3, _upstream.Calls.Count);
        Assert.Equal(Ms(109), At(_upstream.Calls[2]));
        Assert.Equal(2, _upstream.MaxInFlight);

        _upstream.Calls[1].Answer();
        _upstream.Calls[2].Answer();
        Assert.Equal(2, Answer(await second));
        Assert.Equal(3, Answer(await third));
    }

    [Fact]
    public async Task Without_a_pipeline_the_next_batch_leaves_the_moment_the_running_one_completes()
    {
        Batcher(Options(BatchPolicyKind.None));
        var first = Submit(1);
        var second = Submit(2);
        _time.Advance(Ms(500));
        Assert.Single(_upstream.Calls);
        _upstream.Calls[0].Answer();
        await first;
        Assert.Equal(2, _upstream.Calls.Count);
        Assert.Equal(Ms(500), At(_upstream.Calls[1]));
        _upstream.Calls[1].Answer();
        Assert.Equal(2, Answer(await second));
    }

    [Fact]
    public async Task Draining_sends_what_is_queued_without_its_window_refuses_new_work_and_completes_when_answered()
    {
        var batcher = Batcher(Options(BatchPolicyKind.Fixed) with { MaxQueueDelay = TimeSpan.FromSeconds(10) });
        var queued = Enumerable.Range(1, 3).Select(i => Submit(i)).ToList();
        Assert.Empty(_upstream.Calls);

        batcher.BeginDrain();
        var call = Assert.Single(_upstream.Calls);
        Assert.Equal(TimeSpan.Zero, At(call));
        Assert.Equal([1, 2, 3], call.Values);

        var late = await Refused(Submit(4));
        Assert.Equal(StatusCode.Unavailable, late.StatusCode);
        Assert.EndsWith("Server is stopping, scheduler for model has stopped accepting new inference requests", late.Status.Detail);
        Assert.False(batcher.Drained.IsCompleted);

        call.Answer();
        await batcher.Drained;
        Assert.Equal([1, 2, 3], (await Task.WhenAll(queued)).Select(Answer));
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_queue_and_its_batch()
    {
        var batcher = Batcher(Options(BatchPolicyKind.Fixed) with { MaxQueueDelay = Ms(5) });
        var gone = Request(1);
        var expired = Request(2);
        var goneAnswer = batcher.Submit(gone);
        var expiredAnswer = batcher.Submit(expired);
        var kept = Submit(3);
        Assert.Equal(3, batcher.Waiting);

        batcher.Cancel(gone, deadlineExceeded: false);
        _time.Advance(Ms(2));
        batcher.Cancel(expired, deadlineExceeded: true);
        Assert.Equal(1, batcher.Waiting);
        var c = await Refused(goneAnswer);
        Assert.Equal(StatusCode.Cancelled, c.StatusCode);
        Assert.Equal("the call was cancelled by the client", c.Status.Detail);
        var d = await Refused(expiredAnswer);
        Assert.Equal(StatusCode.DeadlineExceeded, d.StatusCode);
        Assert.Equal("deadline passed after 2 ms in the queue of model 'm'", d.Status.Detail);

        _time.Advance(Ms(3));
        var call = Assert.Single(_upstream.Calls);
        Assert.Equal([3], call.Values);
        call.Answer();
        Assert.Equal(3, Answer(await kept));
    }

    [Fact]
    public void The_upstream_call_deadline_is_read_from_the_batchers_clock()
    {
        Batcher(Options(BatchPolicyKind.None));
        _time.Advance(Ms(250));
        _ = Submit(1);
        var call = Assert.Single(_upstream.Calls);
        // No gRPC deadline: the upstream timeout (30 s by default) from the virtual now.
        Assert.Equal((s_start + Ms(250) + TimeSpan.FromSeconds(30)).UtcDateTime, call.Deadline);
        call.Answer();
    }
}
