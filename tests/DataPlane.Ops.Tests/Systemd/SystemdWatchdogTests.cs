using DataPlane.Hosting.Systemd;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Ops.Tests.Systemd;

public class SystemdWatchdogTests
{
    [Fact]
    public async Task Pings_at_half_the_interval_stop_while_the_check_fails_and_resume_when_it_passes()
    {
        using var socket = NotifySocket.Abstract();
        var notifier = new SystemdNotifier(socket.Name, "200000", null);
        bool alive = true;
        var watchdog = new SystemdWatchdog(notifier, (_, _) => Task.FromResult(Volatile.Read(ref alive)), NullLogger.Instance);
        Assert.Equal(TimeSpan.FromMilliseconds(100), watchdog.Interval);
        using var cts = new CancellationTokenSource();
        var run = watchdog.RunAsync(cts.Token);

        // At a 100 ms cadence four pings take about 400 ms; a busy machine may be slower, but never faster than one
        // ping per 50 ms (that would be pinging at a quarter of the interval, not half).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.TrueAsync(() => socket.Count("WATCHDOG=1") >= 4, "four pings");
        Assert.InRange(socket.Count("WATCHDOG=1"), 4, (watch.ElapsedMilliseconds / 50) + 2);

        Volatile.Write(ref alive, false);
        // The loop checks, then pings, then waits: once a check has failed, no earlier ping is still being sent.
        await Eventually.TrueAsync(() => watchdog.Misses >= 1, "the first failed check");
        long sentAtFailure = watchdog.Pings;
        await Eventually.TrueAsync(() => watchdog.Misses >= 4, "three more failed checks");
        Assert.Equal(sentAtFailure, watchdog.Pings);
        await Eventually.TrueAsync(() => socket.Count("WATCHDOG=1") == sentAtFailure, "every ping sent to arrive");
        int atFailure = socket.Count("WATCHDOG=1");

        Volatile.Write(ref alive, true);
        await Eventually.TrueAsync(() => socket.Count("WATCHDOG=1") >= atFailure + 4, "pings to resume");

        cts.Cancel();
        await run;
        Assert.All(socket.Snapshot(), m => Assert.Equal("WATCHDOG=1", m));
    }

    [Fact]
    public async Task A_check_that_hangs_withholds_the_ping()
    {
        using var socket = NotifySocket.AtPath();
        var notifier = new SystemdNotifier(socket.Name, "200000", null);
        var never = new TaskCompletionSource<bool>();
        var watchdog = new SystemdWatchdog(notifier, (_, _) => never.Task, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = watchdog.RunAsync(cts.Token);

        // Each check is given up after the interval and counted as a miss; wait for two rather than for a fixed
        // time, which a busy machine may stretch.
        await Eventually.TrueAsync(() => watchdog.Misses >= 2, "two failed checks");
        Assert.Equal(0, socket.Count("WATCHDOG=1"));
        cts.Cancel();
        await run;
    }

    [Fact]
    public async Task Without_WATCHDOG_USEC_it_returns_at_once_and_sends_nothing()
    {
        using var socket = NotifySocket.AtPath();
        var watchdog = new SystemdWatchdog(new SystemdNotifier(socket.Name), (_, _) => Task.FromResult(true), NullLogger.Instance);
        Assert.Null(watchdog.Interval);
        await watchdog.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null(socket.Next(TimeSpan.FromMilliseconds(200)));
    }
}
