using DataPlane.Hosting.Systemd;

namespace DataPlane.Ops.Tests.Systemd;

public class SystemdNotifierTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public static TheoryData<bool> Namespaces => new() { false, true };

    private static NotifySocket Open(bool @abstract) => @abstract ? NotifySocket.Abstract() : NotifySocket.AtPath();

    [Theory]
    [MemberData(nameof(Namespaces))]
    public void Each_message_arrives_as_one_datagram_with_the_exact_payload(bool @abstract)
    {
        using var socket = Open(@abstract);
        var notifier = new SystemdNotifier(socket.Name, "30000000", null);

        Assert.True(notifier.Enabled);
        Assert.True(notifier.Ready());
        Assert.Equal("READY=1", socket.Next(Wait));
        Assert.True(notifier.Ready("serving 2 model(s)"));
        Assert.Equal("READY=1\nSTATUS=serving 2 model(s)", socket.Next(Wait));
        Assert.True(notifier.Status("line one\nline two"));
        Assert.Equal("STATUS=line one line two", socket.Next(Wait));
        Assert.True(notifier.ExtendTimeout(TimeSpan.FromSeconds(90)));
        Assert.Equal("EXTEND_TIMEOUT_USEC=90000000", socket.Next(Wait));
        Assert.True(notifier.ExtendTimeout(TimeSpan.FromMilliseconds(1.5), "discovering"));
        Assert.Equal("EXTEND_TIMEOUT_USEC=1500\nSTATUS=discovering", socket.Next(Wait));
        Assert.True(notifier.Watchdog());
        Assert.Equal("WATCHDOG=1", socket.Next(Wait));
        Assert.True(notifier.Stopping());
        Assert.Equal("STOPPING=1", socket.Next(Wait));
        Assert.True(notifier.Stopping("draining"));
        Assert.Equal("STOPPING=1\nSTATUS=draining", socket.Next(Wait));
        Assert.Null(socket.Next(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void Without_NOTIFY_SOCKET_nothing_is_sent()
    {
        foreach (string? name in new[] { null, "" })
        {
            var notifier = new SystemdNotifier(name, "30000000", null);
            Assert.False(notifier.Enabled);
            Assert.Null(notifier.WatchdogTimeout);
            Assert.False(notifier.Ready());
            Assert.False(notifier.Status("x"));
            Assert.False(notifier.Watchdog());
            Assert.False(notifier.Stopping());
            Assert.False(notifier.ExtendTimeout(TimeSpan.FromSeconds(1)));
        }
    }

    [Fact]
    public void A_socket_nobody_listens_on_is_not_fatal()
    {
        var notifier = new SystemdNotifier(Path.Combine(Path.GetTempPath(), "dp-notify-absent-" + Guid.NewGuid().ToString("N")));
        Assert.True(notifier.Enabled);
        Assert.False(notifier.Ready());
    }

    [Theory]
    [InlineData("200000", null, 1234, 200_000L)]
    [InlineData("200000", "1234", 1234, 200_000L)]
    [InlineData("200000", "4321", 1234, null)]
    [InlineData(null, null, 1234, null)]
    [InlineData("0", null, 1234, null)]
    [InlineData("soon", null, 1234, null)]
    public void The_watchdog_is_on_only_for_a_valid_interval_and_this_process(string? usec, string? pid, int self, long? expectedUsec)
    {
        using var socket = NotifySocket.AtPath();
        var notifier = new SystemdNotifier(socket.Name, usec, pid, self);

        Assert.Equal(expectedUsec, notifier.WatchdogTimeout is { } t ? (long)t.TotalMicroseconds : null);
        Assert.Equal(expectedUsec != null, notifier.Watchdog());
        if (expectedUsec != null)
        {
            Assert.Equal("WATCHDOG=1", socket.Next(Wait));
        }
        else
        {
            Assert.Null(socket.Next(TimeSpan.FromMilliseconds(100)));
        }
    }
}
