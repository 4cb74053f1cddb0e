using System.Diagnostics;
using System.Net;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>The upstream going down and coming back.</summary>
public class UpstreamTests
{
    [Fact]
    public async Task Requests_fail_fast_while_the_upstream_is_down_and_flow_again_after_it_returns()
    {
        await using var h = await DaemonHarness.StartAsync();
        var health = new Health.HealthClient(h.Channel);
        Assert.NotNull(await h.Client.ModelInferAsync(Tensors.Simple(1, 1)));

        await h.StopSimulatorAsync();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(Tensors.Simple(1, 2)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("upstream is unavailable", e.Status.Detail);
        Assert.Contains(h.Simulator.Address.ToString(), e.Status.Detail);
        Assert.True(watch.ElapsedMilliseconds < 3000, $"took {watch.ElapsedMilliseconds} ms to fail");

        // Once the health loop has noticed, requests are refused without trying the upstream at all.
        await Eventually.TrueAsync(async () =>
            (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.NotServing,
            TimeSpan.FromSeconds(5), "health to report NOT_SERVING");
        Assert.False((await h.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await h.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        using (var readyz = await h.Admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
        }

        for (int i = 0; i < 20; i++)
        {
            var down = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(Tensors.Simple(1, i)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, down.StatusCode);
        }

        Assert.Contains("dataplane_upstream_up 0", await h.MetricsTextAsync());

        await h.RestartSimulatorAsync();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await h.Client.ModelInferAsync(Tensors.Simple(2, 3));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), "inference to work again");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Contains("dataplane_upstream_up 1", await h.MetricsTextAsync());
    }

    [Fact]
    public async Task Queued_requests_are_answered_when_the_upstream_goes_down()
    {
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Batching:Models:slow:PipelineDepth"] = "0",
            ["Batching:Models:slow:Policy"] = "none",
        }, SlowModels.With(300));
        var calls = Enumerable.Range(0, 6).Select(i => h.Client.ModelInferAsync(SlowModels.Request(i)).ResponseAsync).ToList();
        await Task.Delay(50);
        await h.StopSimulatorAsync();

        // The simulator stops gracefully: the request it was running is answered; the five still
        // queued in the daemon are answered UNAVAILABLE instead of waiting for an upstream that is gone.
        int ok = 0;
        foreach (var call in calls)
        {
            try
            {
                await call;
                ok++;
            }
            catch (RpcException e)
            {
                Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            }
        }

        Assert.Equal(1, ok);
    }

    [Fact]
    public async Task Upstream_reporting_not_ready_is_treated_as_down()
    {
        await using var h = await DaemonHarness.StartAsync();
        h.Triton.Ready = false;
        await Eventually.TrueAsync(async () => !(await h.Client.ServerReadyAsync(new ServerReadyRequest())).Ready,
            TimeSpan.FromSeconds(5), "the daemon to see the upstream as not ready");
        var e = await Assert.ThrowsAsync<RpcException>(() => h.Client.ModelInferAsync(Tensors.Simple(1, 1)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("not ready", e.Status.Detail);
        h.Triton.Ready = true;
        await Eventually.TrueAsync(async () => (await h.Client.ServerReadyAsync(new ServerReadyRequest())).Ready,
            TimeSpan.FromSeconds(5), "the daemon to see the upstream ready again");
        Assert.NotNull(await h.Client.ModelInferAsync(Tensors.Simple(1, 1)));
    }
}
