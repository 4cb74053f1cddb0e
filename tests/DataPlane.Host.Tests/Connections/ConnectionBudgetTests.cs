using DataPlane.Hosting.Listeners;
using DataPlane.Interop.Resources;

namespace DataPlane.Host.Tests.Connections;

/// <summary>How the descriptor limit is divided: the headroom and the admin slice are never given to the data
/// listeners, explicit caps replace only their own listener's, and an overcommitted configuration is recognised.</summary>
public class ConnectionBudgetTests
{
    [Theory]
    // LimitNOFILE of the shipped daemon unit: H = 256 + 4096, admin 256, 60928 left.
    [InlineData(65_536, 36_556, 18_278, 6_092, 256)]
    // A shell's usual 1024: H = 256 + 64, admin 16, 688 left.
    [InlineData(1_024, 412, 206, 68, 16)]
    // Unlimited: counted as 2^20, each derived cap at most 65536.
    [InlineData(long.MaxValue, 65_536, 65_536, 65_536, 256)]
    public void The_daemon_s_caps_follow_the_descriptor_limit(long limit, int grpc, int http, int transfer, int admin)
    {
        var caps = ConnectionBudget.Daemon.Derive(limit);

        Assert.Equal(grpc, caps["grpc"]);
        Assert.Equal(http, caps["http"]);
        Assert.Equal(transfer, caps["transfer"]);
        Assert.Equal(admin, caps["admin"]);
    }

    [Theory]
    [InlineData(4_096, 3_264, 64)]
    [InlineData(1_024, 432, 16)]
    public void The_agent_s_api_gets_what_the_headroom_and_admin_leave(long limit, int api, int admin)
    {
        var caps = ConnectionBudget.Agent.Derive(limit);

        Assert.Equal(api, caps["api"]);
        Assert.Equal(admin, caps["admin"]);
    }

    [Theory]
    [InlineData(1_024)]
    [InlineData(4_096)]
    [InlineData(8_192)]
    [InlineData(65_536)]
    [InlineData(524_288)]
    public void Derived_caps_and_headroom_fit_within_the_limit(long limit)
    {
        foreach (var budget in new[] { ConnectionBudget.Daemon, ConnectionBudget.Agent })
        {
            var limits = ConnectionLimits.Create(budget, new ConnectionLimitOptions(), new DescriptorLimit(limit, limit));

            Assert.False(limits.Overcommitted, $"{limits.Describe()} + {limits.Headroom} > {limit}");
            Assert.True(limits.Headroom >= budget.Reserved + (limit / 16));
            Assert.All(limits, l => Assert.True(l.Limit >= ConnectionBudget.MinCap));
        }
    }

    [Fact]
    public void An_explicit_cap_replaces_only_its_own_listener_s()
    {
        var options = new ConnectionLimitOptions { MaxConnections = new Dictionary<string, int> { ["grpc"] = 100 } };
        var limits = ConnectionLimits.Create(ConnectionBudget.Daemon, options, new DescriptorLimit(65_536, 65_536));

        Assert.Equal(100, limits["grpc"].Limit);
        Assert.Equal(18_278, limits["http"].Limit);
        Assert.Equal(256, limits["admin"].Limit);
        Assert.Equal(["grpc"], limits.Explicit);
        Assert.Contains("grpc 100 (configured)", limits.Describe());
        Assert.Throws<KeyNotFoundException>(() => limits["api"]);
    }

    [Fact]
    public void Caps_beyond_the_limit_are_recognised_as_overcommitted()
    {
        var options = new ConnectionLimitOptions { MaxConnections = new Dictionary<string, int> { ["grpc"] = 5_000 } };
        var limits = ConnectionLimits.Create(ConnectionBudget.Daemon, options, new DescriptorLimit(4_096, 4_096));

        Assert.True(limits.Overcommitted);
        Assert.True(limits.Committed > 4_096);
    }
}
