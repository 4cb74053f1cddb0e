using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Taking the simulated Triton "down" and back, as tests of its clients need.</summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_simulation_that_is_not_ready_answers_as_triton_does_until_it_is_ready_again()
    {
        var client = _server.Client;
        _server.Triton.Ready = false;

        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.False((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await _server.Health.CheckAsync(new HealthCheckRequest())).Status);
        foreach (var call in new Func<Task>[]
        {
            () => client.ModelReadyAsync(new ModelReadyRequest { Name = "simple" }).ResponseAsync,
            () => client.ModelInferAsync(Requests.Simple(1)).ResponseAsync,
            () => client.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple" }).ResponseAsync,
            () => client.ModelStatisticsAsync(new ModelStatisticsRequest()).ResponseAsync,
            () => client.RepositoryIndexAsync(new RepositoryIndexRequest()).ResponseAsync,
        })
        {
            var e = await Requests.FailsWith(StatusCode.Unavailable, call);
            Assert.Equal("Server not ready", e.Status.Detail);
        }

        _server.Triton.Ready = true;

        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await _server.Health.CheckAsync(new HealthCheckRequest())).Status);
        await client.ModelInferAsync(Requests.Simple(1));
    }

    [Fact]
    public async Task Stopping_the_simulation_fails_waiting_requests_with_unavailable()
    {
        var slow = Enumerable.Range(0, 4).Select(_ => _server.Client.ModelInferAsync(Requests.Simple(32)).ResponseAsync).ToArray();

        _server.Triton.Dispose();

        // Requests already executing finish; those still queued or arriving later are refused.
        var outcomes = await Task.WhenAll(slow.Select(async t =>
        {
            try
            {
                await t;
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }));
        Assert.All(outcomes, c => Assert.True(c is StatusCode.OK or StatusCode.Unavailable, c.ToString()));
        await Requests.FailsWith(StatusCode.Unavailable, () => _server.Client.ModelInferAsync(Requests.Simple(1)).ResponseAsync);
    }
}
