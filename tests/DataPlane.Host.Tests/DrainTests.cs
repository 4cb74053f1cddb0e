using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>Graceful shutdown: every admitted request is answered.</summary>
public class DrainTests
{
    [Fact]
    public async Task Stopping_answers_every_request_in_flight()
    {
        var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Batching:Models:slow:MaxQueueSize"] = "4096",
            ["Batching:Models:slow:MaxQueueTimeMs"] = "0", // the point is a long queue at shutdown
        }, SlowModels.With(150));
        try
        {
            var calls = Enumerable.Range(0, 250).Select(i => h.Client.ModelInferAsync(SlowModels.Request(i, $"r{i}")).ResponseAsync).ToList();
            // Every request admitted (a request that arrives after shutdown began is refused, rightly) and most still
            // queued: 150 ms per batch of 8 is about 4.7 s of work, so none is answered before the last one is admitted,
            // even on a busy machine.
            Assert.True(h.Daemon.Registry.TryGet("slow", out var slow));
            // In the batcher, not only counted by the front end (which counts a request just before handing it over):
            // queued, or sent upstream in a batch.
            await Eventually.TrueAsync(() => Task.FromResult(slow.Metrics.Inflight.Value >= 250
                    && slow.Metrics.QueueDepth.Value + slow.Metrics.BatchSize.Sum >= 250),
                TimeSpan.FromSeconds(10), "all requests to be admitted");
            Assert.True(slow.Snapshot().QueuedRequests > 100);

            var stopping = h.Daemon.StopAsync();
            var responses = await Task.WhenAll(calls);
            await stopping;

            Assert.Equal(250, responses.Length);
            for (int i = 0; i < responses.Length; i++)
            {
                Assert.Equal($"r{i}", responses[i].Id);
                Assert.Equal(BitConverter.GetBytes(i + 1), Tensors.Output0(responses[i]));
            }
        }
        finally
        {
            await h.DisposeAsync();
        }
    }

    [Fact]
    public async Task Draining_refuses_new_work_and_reports_not_ready()
    {
        var h = await DaemonHarness.StartAsync(simulation: SlowModels.With(300));
        try
        {
            var running = h.Client.ModelInferAsync(SlowModels.Request(1)).ResponseAsync;
            await Eventually.TrueAsync(() => Task.FromResult(h.Daemon.Registry.TryGet("slow", out var b) && b.Snapshot().BatchesInFlight > 0),
                TimeSpan.FromSeconds(10), "the request to go upstream");
            var stopping = h.Daemon.StopAsync();
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    return !(await h.Client.ServerReadyAsync(new ServerReadyRequest())).Ready;
                }
                catch (RpcException)
                {
                    return true; // the listener may already be closed
                }
            }, TimeSpan.FromSeconds(5), "readiness to drop");
            var late = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(SlowModels.Request(2)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, late.StatusCode);
            Assert.NotNull(await running);
            await stopping;
        }
        finally
        {
            await h.DisposeAsync();
        }
    }
}
