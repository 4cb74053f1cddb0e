using System.Threading.Channels;
using DataPlane.Batching.Frontend;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Streaming;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Batching.Tests.Streaming;

/// <summary><see cref="StreamRelay"/> between an in-memory client stream and an in-memory Triton (under the generated
/// client, through the real registry): answers keep request order for models that are not decoupled, a decoupled
/// model's responses pass as they come with the client's id restored, an upstream failure answers what was pending
/// and the next request opens a fresh stream, a client that leaves cancels the upstream stream, streamed requests are
/// bounded by the queue size, and a first response that outwaits the request's timeout is answered on a fake clock.
/// </summary>
public sealed class StreamRelayTests : IAsyncLifetime
{
    private readonly InMemoryTriton _triton = new();
    private readonly SignallingClock _time = new(new DateTimeOffset(1, 1, 2, 0, 0, 0, TimeSpan.Zero));
    private TritonUpstream _upstream = null!;
    private ModelRegistry _registry = null!;
    private StreamRelay _relay = null!;

    public async Task InitializeAsync()
    {
        var prometheus = Prometheus.Metrics.NewCustomRegistry();
        _upstream = new TritonUpstream(new UpstreamOptions { Address = "http://triton.test:8001" }, NullLogger.Instance, prometheus, _triton);
        var options = new BatchingOptions { Defaults = new ModelBatchingOptions { MaxQueueSize = 2 } };
        _registry = new ModelRegistry(_upstream, options, new BatchingMetrics(prometheus), NullLoggerFactory.Instance);
        Assert.True(await _registry.ProbeAsync(CancellationToken.None));
        _relay = new StreamRelay(_registry, new ServingState(), new SharedMemoryRegions(), NullLogger<StreamRelay>.Instance, _time);
    }

    public Task DisposeAsync()
    {
        _registry.Dispose();
        _upstream.Dispose();
        return Task.CompletedTask;
    }

    private Task Run(ClientStream client) => _relay.RunAsync(client.Requests, client.Responses, client);

    private static int Value(ModelStreamInferResponse r) => BitConverter.ToInt32(r.InferResponse.RawOutputContents[0].Span);

    [Fact]
    public async Task Answers_of_a_model_that_is_not_decoupled_reach_the_client_in_request_order_with_its_ids()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("echo", "a", 1);
        client.Send("echo", "a", 2); // clients may reuse ids
        var upstream = await _triton.NextStreamAsync();
        var first = await upstream.Requests.NextAsync();
        var second = await upstream.Requests.NextAsync();
        Assert.NotEqual(first.Id, second.Id);

        upstream.Respond(second.Id, 20);
        upstream.Respond(first.Id, 10);
        var r1 = await client.NextAsync();
        var r2 = await client.NextAsync();
        Assert.Equal([10, 20], new[] { Value(r1), Value(r2) });
        Assert.Equal(["a", "a"], new[] { r1.InferResponse.Id, r2.InferResponse.Id });

        client.Complete();
        await upstream.Requests.Completed;
        upstream.End();
        await run;
        Assert.Equal(1, _triton.Streams);
    }

    [Fact]
    public async Task A_decoupled_models_responses_pass_as_they_come_until_its_final_flag()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("llm", "x", 0);
        client.Send("llm", "y", 0);
        var upstream = await _triton.NextStreamAsync();
        var x = await upstream.Requests.NextAsync();
        var y = await upstream.Requests.NextAsync();

        upstream.Respond(y.Id, 1, final: false);
        upstream.Respond(x.Id, 2, final: false);
        upstream.Respond(y.Id, 3, final: true);
        upstream.Respond(x.Id, 4, final: true);
        var got = new List<(string, int)>();
        for (int i = 0; i < 4; i++)
        {
            var r = await client.NextAsync();
            got.Add((r.InferResponse.Id, Value(r)));
        }

        Assert.Equal([("y", 1), ("x", 2), ("y", 3), ("x", 4)], got);
        client.Complete();
        upstream.End();
        await run;
    }

    [Fact]
    public async Task An_upstream_failure_mid_stream_answers_each_pending_request_in_stream_and_the_next_opens_a_fresh_stream()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("llm", "x", 0);
        var upstream = await _triton.NextStreamAsync();
        var x = await upstream.Requests.NextAsync();
        upstream.Respond(x.Id, 1, final: false);
        Assert.Equal(1, Value(await client.NextAsync()));

        upstream.Fail(StatusCode.Internal, "model crashed");
        var error = await client.NextAsync();
        Assert.Equal("x", error.InferResponse.Id);
        Assert.Equal("model crashed", error.ErrorMessage);

        await upstream.Disposed; // the relay has let the failed stream go
        client.Send("llm", "z", 0);
        var fresh = await _triton.NextStreamAsync();
        var z = await fresh.Requests.NextAsync();
        fresh.Respond(z.Id, 5, final: true);
        var answer = await client.NextAsync();
        Assert.Equal(("z", 5), (answer.InferResponse.Id, Value(answer)));
        Assert.Equal(2, _triton.Streams);

        client.Complete();
        fresh.End();
        await run;
    }

    [Fact]
    public async Task A_client_that_leaves_cancels_the_upstream_stream()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("llm", "x", 0);
        var upstream = await _triton.NextStreamAsync();
        await upstream.Requests.NextAsync();

        client.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await upstream.Cancelled;
        Assert.True(_registry.TryGet("llm", out var llm));
        Assert.True(llm.TryEnterStream(), "the request's admission slot was given back");
        llm.ExitStream();
    }

    [Fact]
    public async Task Streamed_requests_in_flight_are_bounded_by_the_models_queue_size()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("llm", "1", 0);
        client.Send("llm", "2", 0);
        client.Send("llm", "3", 0);
        var refused = await client.NextAsync();
        Assert.Equal("3", refused.InferResponse.Id);
        Assert.Contains("Exceeds maximum queue size", refused.ErrorMessage);
        Assert.Contains("has 2 streamed requests in flight, its limit", refused.ErrorMessage);

        var upstream = await _triton.NextStreamAsync();
        var one = await upstream.Requests.NextAsync();
        var two = await upstream.Requests.NextAsync();
        upstream.Respond(one.Id, 1, final: true);
        upstream.Respond(two.Id, 2, final: true);
        Assert.Equal("1", (await client.NextAsync()).InferResponse.Id);
        Assert.Equal("2", (await client.NextAsync()).InferResponse.Id);
        client.Complete();
        upstream.End();
        await run;

        // Finished requests gave their places back.
        Assert.True(_registry.TryGet("llm", out var llm));
        Assert.True(llm.TryEnterStream());
        Assert.True(llm.TryEnterStream());
        Assert.False(llm.TryEnterStream());
        llm.ExitStream();
        llm.ExitStream();
    }

    [Fact]
    public async Task A_first_response_that_outwaits_the_requests_timeout_is_answered_deadline_exceeded()
    {
        var client = new ClientStream();
        var run = Run(client);
        client.Send("llm", "slow", 0, timeoutUs: 5_000);
        var upstream = await _triton.NextStreamAsync();
        var slow = await upstream.Requests.NextAsync();

        await _time.TimerCreatedAsync(TimeSpan.FromMilliseconds(5));
        _time.Advance(TimeSpan.FromMilliseconds(5) - TimeSpan.FromTicks(1));
        Assert.True(client.NothingMore);
        _time.Advance(TimeSpan.FromTicks(1));
        var error = await client.NextAsync();
        Assert.Equal("slow", error.InferResponse.Id);
        Assert.Equal("no first response from model 'llm' within its deadline (5 ms)", error.ErrorMessage);

        // A late response to it is dropped.
        upstream.Respond(slow.Id, 1, final: true);
        client.Complete();
        upstream.End();
        await run;
        Assert.True(client.NothingMore);
    }

    /// <summary>A fake clock that says when a timer is created, so the test advances it only once the relay waits.</summary>
    private sealed class SignallingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _created.Writer.TryWrite(dueTime);
            return timer;
        }

        public async Task TimerCreatedAsync(TimeSpan dueTime)
        {
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await _created.Reader.ReadAsync(guard.Token) != dueTime)
            {
            }
        }
    }
}
