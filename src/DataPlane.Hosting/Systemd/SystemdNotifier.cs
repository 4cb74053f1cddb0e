using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Hosting.Systemd;

/// <summary>The sd_notify protocol without libsystemd: each message is one datagram of newline-separated
/// <c>KEY=VALUE</c> lines sent on an <c>AF_UNIX</c>/<c>SOCK_DGRAM</c> socket to <c>$NOTIFY_SOCKET</c> (a leading
/// <c>@</c> names an abstract socket). With no <c>NOTIFY_SOCKET</c> (not run by systemd, or <c>Type=</c> other than
/// notify) every method does nothing and returns false. Microsoft.Extensions.Hosting.Systemd sends only READY and
/// STOPPING; this also sends STATUS, EXTEND_TIMEOUT_USEC and the watchdog keep-alive, with no reflection (AOT-safe).
/// Thread-safe: every message opens its own socket, so callers never contend.</summary>
public sealed class SystemdNotifier
{
    private static readonly Lazy<SystemdNotifier> s_process = new(FromEnvironment);
    private readonly UnixDomainSocketEndPoint? _endPoint;

    /// <summary>A notifier for <paramref name="notifySocket"/> (null or empty: disabled). The watchdog is enabled
    /// when <paramref name="watchdogUsec"/> is a positive number of microseconds and <paramref name="watchdogPid"/>
    /// is unset or equals <paramref name="processId"/> (systemd sets WATCHDOG_PID so a child that inherits the
    /// environment does not ping for its parent).</summary>
    public SystemdNotifier(string? notifySocket, string? watchdogUsec = null, string? watchdogPid = null, int? processId = null)
    {
        if (!string.IsNullOrEmpty(notifySocket))
        {
            SocketName = notifySocket;
            // Abstract namespace: '@' stands for the leading NUL byte of sun_path.
            _endPoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        }

        int pid = processId ?? Environment.ProcessId;
        bool forUs = string.IsNullOrEmpty(watchdogPid)
            || (int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out int wanted) && wanted == pid);
        if (_endPoint is not null && forUs
            && ulong.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec) && usec > 0)
        {
            WatchdogTimeout = TimeSpan.FromMicroseconds(usec);
        }
    }

    /// <summary>The notifier for this process, read once from NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.</summary>
    public static SystemdNotifier Process => s_process.Value;

    /// <summary>Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID now.</summary>
    public static SystemdNotifier FromEnvironment() => new(
        Environment.GetEnvironmentVariable("NOTIFY_SOCKET"),
        Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
        Environment.GetEnvironmentVariable("WATCHDOG_PID"));

    /// <summary>True when NOTIFY_SOCKET names a socket (messages are sent).</summary>
    public bool Enabled => _endPoint is not null;

    /// <summary>NOTIFY_SOCKET as given (null when disabled).</summary>
    public string? SocketName { get; }

    /// <summary>The unit's <c>WatchdogSec=</c> when the watchdog is enabled for this process, else null. Keep-alives
    /// go out at half of it, as sd_watchdog_enabled(3) recommends.</summary>
    public TimeSpan? WatchdogTimeout { get; }

    /// <summary>Sends <paramref name="state"/> (newline-separated KEY=VALUE lines) as one datagram. Returns false when
    /// disabled or when the send failed (systemd gone or the socket not writable: never fatal to the daemon).</summary>
    public bool Notify(string state)
    {
        if (_endPoint is null)
        {
            return false;
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            byte[] payload = Encoding.UTF8.GetBytes(state);
            return socket.SendTo(payload, SocketFlags.None, _endPoint) == payload.Length;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary><c>READY=1</c> (start-up finished: the listeners answer), with an optional status line.</summary>
    public bool Ready(string? status = null) => Notify(status is null ? "READY=1" : "READY=1\nSTATUS=" + OneLine(status));

    /// <summary><c>STATUS=…</c>, the free-text line <c>systemctl status</c> shows (newlines become spaces).</summary>
    public bool Status(string status) => Notify("STATUS=" + OneLine(status));

    /// <summary><c>STOPPING=1</c> (draining has begun), with an optional status line.</summary>
    public bool Stopping(string? status = null) => Notify(status is null ? "STOPPING=1" : "STOPPING=1\nSTATUS=" + OneLine(status));

    /// <summary><c>EXTEND_TIMEOUT_USEC=…</c>: asks for at least <paramref name="extension"/> more before the start (or
    /// stop) timeout fires, for slow steps such as NVML initialisation.</summary>
    public bool ExtendTimeout(TimeSpan extension, string? status = null)
    {
        string line = "EXTEND_TIMEOUT_USEC=" + ((long)extension.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);
        return Notify(status is null ? line : line + "\nSTATUS=" + OneLine(status));
    }

    /// <summary><c>WATCHDOG=1</c>, the keep-alive; sent only when the watchdog is enabled for this process.</summary>
    public bool Watchdog() => WatchdogTimeout is not null && Notify("WATCHDOG=1");

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
