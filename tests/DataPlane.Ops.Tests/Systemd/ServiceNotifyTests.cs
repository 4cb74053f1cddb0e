using System.Net;

namespace DataPlane.Ops.Tests.Systemd;

/// <summary>The published executables speak the notify protocol as systemd would see it: NOTIFY_SOCKET and
/// WATCHDOG_USEC set as in a Type=notify unit with WatchdogSec=400ms.</summary>
public class ServiceNotifyTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(30);

    [Fact]
    public Task Dataplane_serve_notifies_ready_status_watchdog_and_stopping()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        return RunAsync(Binaries.Dataplane, $"http://127.0.0.1:{admin}/readyz", @"\nSTATUS=serving [1-9][0-9]* model\(s\), upstream up, queued 0$",
            "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0");
    }

    [Fact]
    public Task Dataplane_agent_serve_notifies_ready_status_watchdog_and_stopping()
    {
        int api = Binaries.FreePort(), admin = Binaries.FreePort();
        return RunAsync(Binaries.Agent, $"http://127.0.0.1:{admin}/healthz", @"\nSTATUS=serving; local runtime \S+ (ready|not ready), GPU pool none, breaker \w+$",
            "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{admin}");
    }

    private static async Task RunAsync(string file, string probeUrl, string statusPattern, params string[] args)
    {
        using var socket = NotifySocket.AtPath();
        using var process = new ChildProcess(new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = socket.Name,
            ["WATCHDOG_USEC"] = "400000",
        }, file, args);

        string? ready = socket.WaitFor(m => m.StartsWith("READY=1", StringComparison.Ordinal), Startup);
        Assert.True(ready != null, "no READY=1: " + string.Join(" | ", socket.Snapshot()) + "\n" + process.Output);
        // READY comes only once the listeners answer: one request, no retry.
        using (var http = new HttpClient())
        using (var answer = await http.GetAsync(probeUrl))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Matches(statusPattern, ready);
        Assert.Equal(1, socket.Snapshot().Count(m => m.StartsWith("READY=1", StringComparison.Ordinal)));

        // Keep-alives every 200 ms while the liveness check passes.
        for (int i = 0; i < 3; i++)
        {
            Assert.True(socket.WaitFor(m => m == "WATCHDOG=1", TimeSpan.FromSeconds(10)) != null,
                "too few WATCHDOG=1: " + string.Join(" | ", socket.Snapshot()));
        }

        process.Terminate();
        Assert.True(socket.WaitFor(m => m.StartsWith("STOPPING=1", StringComparison.Ordinal), TimeSpan.FromSeconds(15)) != null,
            "no STOPPING=1: " + string.Join(" | ", socket.Snapshot()));
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
