using DataPlane.Edge.Api;
using DataPlane.Edge.Gpu;
using DataPlane.Edge.Routing;
using DataPlane.Edge.Serving;
using DataPlane.Hosting.Metrics;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Edge.Tests.Serving;

/// <summary>The races of <see cref="EdgeService"/> with a scripted local runtime, an in-memory GPU host under the real
/// <see cref="GpuPool"/>, and a fake clock for the hedge delay: exactly one side answers, the loser is cancelled, a
/// side that fails before its first token hands over to the other, a client that leaves cancels both, and an open
/// breaker keeps requests off the GPU. Nothing waits on real time: the tests wait for the service to start a side
/// (or a timer) and advance the clock themselves.</summary>
public sealed class EdgeServiceTests : IAsyncDisposable
{
    private readonly SignallingTimeProvider _time = new();
    private readonly ScriptedLocalRuntime _local = new();
    private readonly ScriptedGpu _gpu = new();
    private readonly GpuPool _pool;
    private readonly CircuitBreaker _breaker;
    private readonly HedgeDelay _hedge;
    private readonly EdgeService _service;
    private readonly RecordingSink _sink = new();
    private readonly CancellationTokenSource _client = new();

    public EdgeServiceTests()
    {
        _pool = _gpu.Pool(_time);
        _breaker = new CircuitBreaker("gpu", time: _time);
        _hedge = new HedgeDelay(new LatencyTracker(time: _time));
        _service = new EdgeService(_local, _pool, PromptClassifier.Default, new RoutingOptions(), new EdgeOptions(), _breaker, _hedge,
            new EdgeMetrics(new MetricRegistry()), NullLogger<EdgeService>.Instance, _time);
    }

    public ValueTask DisposeAsync()
    {
        _pool.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static readonly EdgeRequest s_request = new()
    {
        Endpoint = EdgeEndpoint.Chat,
        Model = "local-small",
        Messages = [new ChatMessage("user", "hello")],
        Stream = true,
    };

    private Task<string> Serve(Route route, string reason) =>
        _service.ServeAsync(s_request, new RoutingDecision(route, reason), _sink, _time.GetTimestamp(), _client.Token);

    private TimeSpan HedgeDelay => _hedge.Current(_service.Options.DefaultSlo, _service.LocalTimeToFirstToken);

    [Fact]
    public async Task A_gpu_token_before_the_hedge_delay_answers_alone_and_the_local_runtime_never_starts()
    {
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var gpu = await _gpu.NextAsync();
        gpu.Token("G1");
        gpu.Token("G2");
        gpu.Finish();

        Assert.Equal("gpu", await served);
        Assert.Equal(["begin gpu", "G1", "G2", "finish stop by gpu"], _sink.Events);
        Assert.Equal(0, _local.Calls);
    }

    [Fact]
    public async Task When_the_gpu_is_late_the_hedge_starts_locally_and_the_first_token_wins_the_loser_is_cancelled()
    {
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var gpu = await _gpu.NextAsync();
        await _time.TimerCreatedAsync(HedgeDelay);
        _time.Advance(HedgeDelay - TimeSpan.FromTicks(1));
        Assert.Equal(0, _local.Calls);
        _time.Advance(TimeSpan.FromTicks(1));

        var local = await _local.NextAsync();
        local.Token("L1");
        await gpu.Cancelled; // the losing GPU call is cancelled
        gpu.Token("too late");
        local.Token("L2");
        local.Finish();

        Assert.Equal("local", await served);
        Assert.Equal(["begin local", "L1", "L2", "finish stop by local"], _sink.Events);
        Assert.Equal("hedge", _sink.Info!.Reason);
        Assert.Equal(1, _gpu.Calls);
    }

    [Fact]
    public async Task A_gpu_token_after_the_hedge_started_still_wins_and_cancels_the_local_generation()
    {
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var gpu = await _gpu.NextAsync();
        await _time.TimerCreatedAsync(HedgeDelay);
        _time.Advance(HedgeDelay);
        var local = await _local.NextAsync();

        gpu.Token("G1");
        await local.Cancelled;
        local.Token("too late");
        gpu.Finish();

        Assert.Equal("gpu", await served);
        Assert.Equal(["begin gpu", "G1", "finish stop by gpu"], _sink.Events);
        Assert.Equal(0, _service.LocalCapacity.InFlight);
    }

    [Fact]
    public async Task A_gpu_failure_before_its_first_token_is_answered_locally_as_degraded()
    {
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var gpu = await _gpu.NextAsync();
        gpu.Fail(StatusCode.Unavailable, "host went away");

        var local = await _local.NextAsync();
        local.Token("L1");
        local.Finish();

        Assert.Equal("degraded", await served);
        Assert.Equal(["begin degraded", "L1", "finish stop by local"], _sink.Events);
        Assert.Equal("gpu_failed", _sink.Info!.Reason);
        Assert.Equal(1, _breaker.ConsecutiveFailures);
    }

    [Fact]
    public async Task A_local_failure_before_its_first_token_falls_back_to_the_gpu()
    {
        var served = Serve(Route.Local, RoutingReasons.ClassifierConfidentLocal);
        var local = await _local.NextAsync();
        local.Fail("runtime crashed");

        var gpu = await _gpu.NextAsync();
        gpu.Token("G1");
        gpu.Finish();

        Assert.Equal("gpu", await served);
        Assert.Equal(["begin gpu", "G1", "finish stop by gpu"], _sink.Events);
        Assert.Equal("local_unavailable", _sink.Info!.Reason);
    }

    [Fact]
    public async Task A_client_that_leaves_during_the_escalation_cancels_the_gpu_call_and_gets_nothing()
    {
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var gpu = await _gpu.NextAsync();
        await _client.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => served);
        await gpu.Cancelled;
        Assert.Empty(_sink.Events);
        Assert.Equal(0, _local.Calls);
        Assert.Equal(0, _breaker.ConsecutiveFailures); // a call the client cancelled is not a GPU failure
    }

    [Fact]
    public async Task With_the_breaker_open_an_escalation_is_answered_locally_and_the_gpu_is_not_called()
    {
        for (int i = 0; i < _breaker.Options.FailureThreshold; i++)
        {
            _breaker.OnFailure();
        }

        Assert.Equal(CircuitState.Open, _breaker.State);
        Assert.False(_service.GpuAvailable);
        var served = Serve(Route.Escalate, RoutingReasons.ClassifierEscalate);
        var local = await _local.NextAsync();
        local.Token("L1");
        local.Finish();

        Assert.Equal("degraded", await served);
        Assert.Equal("gpu_unavailable", _sink.Info!.Reason);
        Assert.Equal(0, _gpu.Calls);
    }

    [Fact]
    public async Task When_neither_side_can_answer_the_request_fails_before_anything_is_sent()
    {
        for (int i = 0; i < _breaker.Options.FailureThreshold; i++)
        {
            _breaker.OnFailure();
        }

        var served = Serve(Route.Local, RoutingReasons.ClassifierConfidentLocal);
        (await _local.NextAsync()).Fail("runtime crashed");

        var e = await Assert.ThrowsAsync<EdgeUnavailableException>(() => served);
        Assert.Contains("the local runtime (scripted) failed and the GPU pool is not available", e.Message);
        Assert.Empty(_sink.Events);
        Assert.Equal(0, _gpu.Calls);
    }
}
