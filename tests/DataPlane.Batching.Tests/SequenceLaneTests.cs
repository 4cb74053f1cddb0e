using System.Collections.Concurrent;
using DataPlane.Batching.Batching;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Queueing;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Batching.Tests;

/// <summary>Sequence steps through a real <see cref="ModelBatcher"/> against an upstream that answers only when the test
/// says so: steps of one sequence go upstream alone, one at a time, in arrival order; sequences run side by side.</summary>
public sealed class SequenceLaneTests : IDisposable
{
    private readonly HeldUpstream _upstream = new();
    private readonly List<ModelBatcher> _batchers = [];

    public void Dispose()
    {
        foreach (var b in _batchers)
        {
            b.Dispose();
        }
    }

    private ModelBatcher Batcher(bool sequential, int maxQueue = 1024)
    {
        var config = new ModelConfig { Name = "seq", MaxBatchSize = 8 };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        if (sequential)
        {
            config.SequenceBatching = new ModelSequenceBatching();
        }

        var options = new ModelBatchingOptions { Policy = BatchPolicyKind.Fixed, MaxQueueDelay = TimeSpan.FromSeconds(10), MaxQueueSize = maxQueue };
        var batcher = new ModelBatcher(new ModelDescriptor(config, "1"), options, _upstream, TensorLimits.Default,
            new BatchingMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger.Instance);
        _batchers.Add(batcher);
        return batcher;
    }

    private static PendingRequest Step(ModelBatcher batcher, object id, int value, bool start = false, bool end = false)
    {
        var r = Support.Request("seq", "INT32", [1, 1], BitConverter.GetBytes(value));
        r.Parameters["sequence_id"] = id is string s ? new InferParameter { StringParam = s } : new InferParameter { Int64Param = (int)id };
        r.Parameters["sequence_start"] = new InferParameter { BoolParam = start };
        r.Parameters["sequence_end"] = new InferParameter { BoolParam = end };
        Assert.Null(SequenceKey.TryParse(r.Parameters, out var key));
        var pending = Support.Pending(r, arrival: batcher.NowNs);
        return new PendingRequest(pending.Message, pending.Inputs, pending.Rows, pending.Signature, 0, pending.ArrivalNs, long.MaxValue, long.MaxValue)
        {
            Sequence = key,
            Sequenced = true,
        };
    }

    private static int Value(ModelInferRequest r)
    {
        Assert.Single(r.Inputs);
        Assert.Equal(1, r.Inputs[0].Shape[0]);
        return BitConverter.ToInt32(r.RawInputContents[0].Span);
    }

    [Fact]
    public async Task Steps_of_one_sequence_go_upstream_alone_one_at_a_time_in_arrival_order()
    {
        var batcher = Batcher(sequential: true);
        var answers = new List<Task<ModelInferResponse>>();
        for (int i = 1; i <= 64; i++)
        {
            answers.Add(batcher.Submit(Step(batcher, 1000, i, start: i == 1, end: i == 64)));
        }

        Assert.Equal(63, batcher.Waiting);
        for (int i = 1; i <= 64; i++)
        {
            var call = await _upstream.NextAsync();
            Assert.Equal(i, Value(call.Request));
            Assert.Equal(1, _upstream.InFlight);
            call.Answer();
        }

        await Task.WhenAll(answers);
        Assert.Equal(1, _upstream.MaxInFlight);
        Assert.Equal(64, _upstream.Calls);
        Assert.Equal(0, batcher.Waiting);
    }

    [Fact]
    public async Task Different_sequences_are_upstream_at_the_same_time_and_each_keeps_its_order()
    {
        var batcher = Batcher(sequential: true);
        var answers = new List<Task<ModelInferResponse>>();
        for (int i = 0; i < 3; i++)
        {
            answers.Add(batcher.Submit(Step(batcher, 7, 700 + i, start: i == 0)));
            answers.Add(batcher.Submit(Step(batcher, "s-8", 800 + i, start: i == 0)));
        }

        var first = await _upstream.NextAsync();
        var second = await _upstream.NextAsync();
        Assert.Equal(2, _upstream.InFlight);
        Assert.Equal([700, 800], new[] { Value(first.Request), Value(second.Request) }.Order());

        // Answering one sequence's step sends that sequence's next step only.
        var (done, other) = Value(first.Request) == 700 ? (first, second) : (second, first);
        done.Answer();
        var next = await _upstream.NextAsync();
        Assert.Equal(701, Value(next.Request));
        other.Answer();
        var s801 = await _upstream.NextAsync();
        Assert.Equal(801, Value(s801.Request));
        next.Answer();
        var s702 = await _upstream.NextAsync();
        Assert.Equal(702, Value(s702.Request));
        s801.Answer();
        var s802 = await _upstream.NextAsync();
        Assert.Equal(802, Value(s802.Request));
        s702.Answer();
        s802.Answer();
        await Task.WhenAll(answers);
        Assert.Equal(2, _upstream.MaxInFlight);
    }

    [Fact]
    public async Task A_sequence_id_on_a_model_that_batches_still_bypasses_the_batch_queue()
    {
        var batcher = Batcher(sequential: false);
        Assert.Equal(BatchPolicyKind.Fixed, batcher.PolicyKind);
        var a = batcher.Submit(Step(batcher, 5, 1, start: true));
        var b = batcher.Submit(Step(batcher, 5, 2));
        var call = await _upstream.NextAsync();
        Assert.Equal(1, Value(call.Request)); // not held for the fixed policy's 10 s window, and not merged with its successor
        call.Answer();
        call = await _upstream.NextAsync();
        Assert.Equal(2, Value(call.Request));
        call.Answer();
        await Task.WhenAll(a, b);
    }

    [Fact]
    public async Task Waiting_steps_count_against_the_queue_and_fail_when_the_upstream_goes_down()
    {
        var batcher = Batcher(sequential: true, maxQueue: 2);
        var running = batcher.Submit(Step(batcher, 9, 1, start: true));
        var waiting = new[] { batcher.Submit(Step(batcher, 9, 2)), batcher.Submit(Step(batcher, 9, 3)) };
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => batcher.Submit(Step(batcher, 9, 4)));
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Exceeds maximum queue size", refused.Status.Detail);

        var call = await _upstream.NextAsync();
        batcher.FailQueued(Grpc.Core.StatusCode.Unavailable, "upstream is gone");
        foreach (var w in waiting)
        {
            Assert.Equal("upstream is gone", (await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => w)).Status.Detail);
        }

        call.Answer();
        await running;
        Assert.Equal(1, _upstream.Calls);
    }

    [Fact]
    public async Task Draining_sends_every_waiting_step_before_it_completes()
    {
        var batcher = Batcher(sequential: true);
        var answers = Enumerable.Range(1, 5).Select(i => batcher.Submit(Step(batcher, 3, i, start: i == 1))).ToList();
        batcher.BeginDrain();
        for (int i = 1; i <= 5; i++)
        {
            Assert.False(batcher.Drained.IsCompleted);
            var call = await _upstream.NextAsync();
            Assert.Equal(i, Value(call.Request));
            call.Answer();
        }

        await batcher.Drained.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(answers);
    }
}
