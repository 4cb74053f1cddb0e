using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Ops.Tests.Systemd;

/// <summary>A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET: bound to a file path or an
/// abstract name, it collects every datagram received.</summary>
internal sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly string? _directory;
    private readonly Task _receiver;
    private readonly BlockingCollection<string> _arrived = [];

    private NotifySocket(string name, string? directory)
    {
        Name = name;
        _directory = directory;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(name[0] == '@' ? "\0" + name[1..] : name));
        _receiver = Task.Run(Receive);
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Name { get; }

    /// <summary>Every message received so far, in order.</summary>
    public List<string> Messages { get; } = [];

    public static NotifySocket AtPath()
    {
        string dir = Directory.CreateTempSubdirectory("dp-notify-").FullName;
        return new NotifySocket(Path.Combine(dir, "notify"), dir);
    }

    public static NotifySocket Abstract() => new("@dp-notify-" + Guid.NewGuid().ToString("N"), null);

    private void Receive()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _socket.Receive(buffer);
                string message = Encoding.UTF8.GetString(buffer, 0, n);
                lock (Messages)
                {
                    Messages.Add(message);
                }

                _arrived.Add(message);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>The next message, or null after <paramref name="timeout"/>.</summary>
    public string? Next(TimeSpan timeout) => _arrived.TryTake(out var m, timeout) ? m : null;

    /// <summary>Waits for a message that satisfies <paramref name="match"/>; null after <paramref name="timeout"/>.</summary>
    public string? WaitFor(Func<string, bool> match, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (Next(end - DateTime.UtcNow) is { } m && match(m))
            {
                return m;
            }
        }

        return null;
    }

    public int Count(string message)
    {
        lock (Messages)
        {
            return Messages.Count(m => m == message);
        }
    }

    public string[] Snapshot()
    {
        lock (Messages)
        {
            return [.. Messages];
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _receiver.Wait(TimeSpan.FromSeconds(5));
        _arrived.Dispose();
        if (_directory != null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
