using System.Net;
using System.Net.Sockets;
using DataPlane.Testing;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Tests.Security;

/// <summary>TLS settings for a test peer.</summary>
internal static class Tls
{
    /// <summary>The settings of a node holding <paramref name="identity"/> and trusting <paramref name="pki"/>'s CA.</summary>
    public static TransferSecurity For(PeerPki pki, PeerIdentity identity, bool encrypt = true, string[]? allowed = null)
    {
        var ca = pki.Ca;
        return new TransferSecurity(() => identity.Certificate, () => ca)
        {
            EncryptData = encrypt,
            AllowedPeers = allowed is ["*"] ? PeerAllowList.Any : PeerAllowList.Of(allowed ?? []),
        };
    }
}

/// <summary>A TCP relay on loopback between a client and <see cref="Target"/> that keeps a copy of every byte in both
/// directions: what someone on the wire would see.</summary>
internal sealed class WireTap : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly MemoryStream _seen = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accept;

    public WireTap(IPEndPoint target)
    {
        Target = target;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        _accept = AcceptAsync();
    }

    public IPEndPoint Target { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>True when <paramref name="pattern"/> passed the wire (either direction) as it is.</summary>
    public bool Saw(ReadOnlySpan<byte> pattern)
    {
        lock (_gate)
        {
            return _seen.GetBuffer().AsSpan(0, (int)_seen.Length).IndexOf(pattern) >= 0;
        }
    }

    /// <summary>Bytes relayed so far.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _seen.Length;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        lock (_gate)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        await Record.ExceptionAsync(() => _accept);
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            var inbound = await _listener.AcceptAsync();
            var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await outbound.ConnectAsync(Target);
            lock (_gate)
            {
                _sockets.Add(inbound);
                _sockets.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound);
            _ = PumpAsync(outbound, inbound);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                lock (_gate)
                {
                    _seen.Write(buffer, 0, n);
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            from.Dispose();
            to.Dispose();
        }
    }
}

/// <summary>A logger that keeps its lines and lets a test wait for one.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Completes with the first line (logged before or after the call) that <paramref name="match"/> accepts.</summary>
    public Task<string> WaitForAsync(Func<string, bool> match)
    {
        lock (_gate)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return Task.FromResult(line);
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task;
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = formatter(state, exception);
        lock (_gate)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToArray())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult(line);
            }
        }
    }
}

/// <summary>A clock the test moves (timers are the system's: only time stamps are manual).</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
