using DataPlane.Host.Configuration;
using DataPlane.Hosting.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests.Connections;

/// <summary>Listen:Limits binds through the daemon's real binder: caps per listener, timeouts, and every mistake named
/// by its key.</summary>
public class ConnectionLimitConfigurationTests
{
    private static DaemonOptions Bind(params (string Key, string Value)[] values) =>
        DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] values) =>
        Assert.Throws<ConfigurationException>(() => Bind(values)).Errors;

    [Fact]
    public void Defaults_derive_every_cap_and_close_idle_connections_after_30_s()
    {
        var o = Bind();
        Assert.Empty(o.Connections.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Connections.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Connections.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(20), o.Connections.KeepAlivePingTimeout);
    }

    [Fact]
    public void Caps_and_timeouts_are_read_per_listener()
    {
        var o = Bind(("Listen:Limits:MaxConnections:Grpc", "5000"), ("Listen:Limits:MaxConnections:transfer", "64"),
            ("Listen:Limits:IdleTimeoutSeconds", "2.5"), ("Listen:Limits:KeepAlivePingSeconds", "0"),
            ("Listen:Limits:KeepAlivePingTimeoutSeconds", "5"));

        Assert.Equal(5000, o.Connections.MaxConnections["grpc"]);
        Assert.Equal(64, o.Connections.MaxConnections["transfer"]);
        Assert.False(o.Connections.MaxConnections.ContainsKey("http"));
        Assert.Equal(TimeSpan.FromSeconds(2.5), o.Connections.IdleTimeout);
        Assert.Equal(Timeout.InfiniteTimeSpan, o.Connections.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), o.Connections.KeepAlivePingTimeout);

        var kestrel = new KestrelServerOptions();
        o.Connections.ApplyTo(kestrel);
        Assert.Equal(TimeSpan.FromSeconds(2.5), kestrel.Limits.KeepAliveTimeout);
        Assert.Equal(TimeSpan.MaxValue, kestrel.Limits.Http2.KeepAlivePingDelay); // Kestrel's spelling of "never"
        Assert.Equal(TimeSpan.FromSeconds(5), kestrel.Limits.Http2.KeepAlivePingTimeout);
    }

    [Theory]
    [InlineData("Listen:Limits:MaxConnections:Grcp", "10", "Listen:Limits:MaxConnections:Grcp: unknown setting")]
    [InlineData("Listen:Limits:MaxConnections:Api", "10", "Listen:Limits:MaxConnections:Api: unknown setting")]
    [InlineData("Listen:Limits:MaxConnection", "10", "Listen:Limits:MaxConnection: unknown setting")]
    [InlineData("Listen:Limits:MaxConnections:Grpc", "0", "Listen:Limits:MaxConnections:Grpc: '0' is not a whole number from 1 to 1048576")]
    [InlineData("Listen:Limits:MaxConnections:Admin", "many", "Listen:Limits:MaxConnections:Admin: 'many' is not a whole number from 1 to 1048576")]
    [InlineData("Listen:Limits:IdleTimeoutSeconds", "0", "Listen:Limits:IdleTimeoutSeconds: '0' is not a number from 0.1 to 86400")]
    [InlineData("Listen:Limits:KeepAlivePingSeconds", "0.5", "Listen:Limits:KeepAlivePingSeconds: 0.5 s is less than 1 s (0 turns pings off)")]
    [InlineData("Listen:Limits:KeepAlivePingTimeoutSeconds", "0.5", "Listen:Limits:KeepAlivePingTimeoutSeconds: '0.5' is not a number from 1 to 86400")]
    public void Mistakes_name_their_key(string key, string value, string error)
    {
        Assert.StartsWith(error, Assert.Single(Errors((key, value))), StringComparison.Ordinal);
    }
}
