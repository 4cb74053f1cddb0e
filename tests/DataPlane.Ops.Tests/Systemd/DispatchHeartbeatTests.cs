using DataPlane.Batching.Batching;

namespace DataPlane.Ops.Tests.Systemd;

/// <summary>The daemon's watchdog liveness probe: a dispatch thread answers a heartbeat unless it is stuck.</summary>
public class DispatchHeartbeatTests
{
    [Fact]
    public async Task A_stuck_dispatch_thread_does_not_answer_until_it_is_freed()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        using var timer = new DispatchTimer("dp-test", () => System.Diagnostics.Stopwatch.GetTimestamp(), () =>
        {
            entered.Set();
            release.Wait();
        });

        // Idle (nothing armed): it answers.
        await timer.HeartbeatAsync().WaitAsync(TimeSpan.FromSeconds(5));

        timer.Arm(0);
        Assert.True(entered.Wait(TimeSpan.FromSeconds(5)));
        var beat = timer.HeartbeatAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => beat.WaitAsync(TimeSpan.FromMilliseconds(300)));

        release.Set();
        await beat.WaitAsync(TimeSpan.FromSeconds(5));
        await timer.HeartbeatAsync().WaitAsync(TimeSpan.FromSeconds(5));
    }
}
