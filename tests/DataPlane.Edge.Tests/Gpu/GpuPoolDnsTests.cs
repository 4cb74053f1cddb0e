using System.Net;
using DataPlane.Edge.Gpu;

namespace DataPlane.Edge.Tests.Gpu;

/// <summary>A dns:/// name: every address it resolves to is a host of its own, kept with its state across
/// re-resolutions; a failed or empty answer keeps the hosts there were.</summary>
public class GpuPoolDnsTests
{
    [Fact]
    public async Task Every_address_of_the_name_becomes_a_host_and_requests_spread_over_all()
    {
        IPAddress[] answer = [IPAddress.Parse("10.1.0.1"), IPAddress.Parse("10.1.0.2"), IPAddress.Parse("10.1.0.3")];
        string? asked = null;
        using var pool = new GpuPool(new GpuOptions { Hosts = ["dns:///gpu-pool.example:8001"], DnsRefreshInterval = TimeSpan.FromHours(1) },
            resolve: (name, _) =>
            {
                asked = name;
                return Task.FromResult(answer);
            }, random: new Random(3));
        await pool.Resolved;
        Assert.Equal("gpu-pool.example", asked);
        Assert.Equal(["10.1.0.1:8001", "10.1.0.2:8001", "10.1.0.3:8001"], pool.Balancer.Hosts.Select(h => h.Name).Order());

        var picks = new Dictionary<string, int>();
        for (int i = 0; i < 300; i++)
        {
            var h = pool.Balancer.Pick()!;
            picks[h.Name] = picks.GetValueOrDefault(h.Name) + 1;
            pool.Balancer.Release(h);
        }

        Assert.Equal(3, picks.Count);
        Assert.All(picks.Values, n => Assert.InRange(n, 60, 140));

        // An address leaves and another arrives: the one kept is the same host (state and all).
        var kept = pool.Balancer.Hosts.Single(h => h.Name == "10.1.0.2:8001");
        answer = [IPAddress.Parse("10.1.0.2"), IPAddress.Parse("10.1.0.4")];
        await pool.RefreshDnsAsync(CancellationToken.None);
        Assert.Equal(["10.1.0.2:8001", "10.1.0.4:8001"], pool.Balancer.Hosts.Select(h => h.Name).Order());
        Assert.Same(kept, pool.Balancer.Hosts.Single(h => h.Name == "10.1.0.2:8001"));

        // An empty answer keeps them.
        answer = [];
        await pool.RefreshDnsAsync(CancellationToken.None);
        Assert.Equal(2, pool.Balancer.Hosts.Count);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_fails_requests_with_unavailable()
    {
        using var pool = new GpuPool(new GpuOptions { Hosts = ["dns:///nowhere.example:8001"], DnsRefreshInterval = TimeSpan.FromHours(1) },
            resolve: (_, _) => Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound)));
        await pool.Resolved;
        Assert.Empty(pool.Balancer.Hosts);
        var request = new DataPlane.Edge.Api.EdgeRequest { Endpoint = DataPlane.Edge.Api.EdgeEndpoint.Completion, Model = "m", Prompt = "x" };
        var e = await Assert.ThrowsAsync<GpuException>(async () =>
        {
            await foreach (var _ in pool.StreamAsync(request, 4, DateTime.UtcNow.AddSeconds(5), CancellationToken.None))
            {
            }
        });
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, e.Status);
    }
}
