using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Listeners;

/// <summary>The connection cap of one listener: at most <see cref="Limit"/> connections open at once; one more is
/// refused, that is closed at once by its accept loop without reading from it (so before any TLS handshake), and
/// counted. Lock-free; the open count never exceeds the limit, even for an instant.
/// <para>Kestrel listeners get it through <see cref="ListenerSetup.Listen"/>. Any other accept loop (the transfer
/// engine's control listener) uses it the same way:</para>
/// <code>
/// var socket = await listener.AcceptAsync(ct);
/// if (!limiter.TryAcquire()) { socket.Dispose(); continue; }   // refused and counted
/// _ = ServeAsync(socket).ContinueWith(_ => limiter.Release()); // exactly one Release per accepted connection
/// </code>
/// <para>or, where an <see cref="IDisposable"/> is easier to carry, <see cref="TryLease"/>.</para></summary>
public sealed class ConnectionLimiter
{
    private readonly TimeProvider _time;
    private int _open;
    private long _accepted;
    private long _refused;
    private long _nextWarning;
    private long _refusedAtLastWarning;

    /// <param name="listener">The listener's role name ("grpc", "http", "admin", "transfer", "api"): the metric label.</param>
    /// <param name="limit">Most connections open at once (at least 1).</param>
    /// <param name="time">The clock of the refusal warning's rate limit; default the system's.</param>
    public ConnectionLimiter(string listener, int limit, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(listener);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Listener = listener;
        Limit = limit;
        _time = time ?? TimeProvider.System;
        _nextWarning = long.MinValue;
    }

    /// <summary>How often at most the "at its cap" warning is logged per listener. Default one minute.</summary>
    public static TimeSpan WarningInterval { get; } = TimeSpan.FromMinutes(1);

    public string Listener { get; }

    public int Limit { get; }

    /// <summary>Connections accepted and not yet released.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections accepted since start.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections refused since start because <see cref="Limit"/> were open.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Where the rate-limited warning goes; set once the host's logging exists (<see cref="ConnectionLimits.UseLogger"/>).</summary>
    internal ILogger? Logger { get; set; }

    /// <summary>Takes a place for a new connection. True: accepted, call <see cref="Release"/> exactly once when it
    /// closes. False: refused (counted); close the connection at once.</summary>
    public bool TryAcquire()
    {
        int open = Volatile.Read(ref _open);
        while (open < Limit)
        {
            int seen = Interlocked.CompareExchange(ref _open, open + 1, open);
            if (seen == open)
            {
                Interlocked.Increment(ref _accepted);
                return true;
            }

            open = seen;
        }

        long refused = Interlocked.Increment(ref _refused);
        WarnIfDue(refused);
        return false;
    }

    /// <summary>Gives back the place of a connection <see cref="TryAcquire"/> accepted.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _open) < 0)
        {
            Interlocked.Increment(ref _open);
            throw new InvalidOperationException($"listener {Listener}: a connection was released that was never accepted");
        }
    }

    /// <summary><see cref="TryAcquire"/> as a lease: null when refused; otherwise disposing it (once or more) releases
    /// the place once.</summary>
    public IDisposable? TryLease() => TryAcquire() ? new Lease(this) : null;

    /// <summary>Kestrel connection middleware: refuses over the cap before anything else runs on the connection
    /// (it is added ahead of TLS), and releases the place when the connection ends.</summary>
    internal ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (!TryAcquire())
        {
            // Returning without reading closes the socket: the peer sees the connection end, nothing was parsed.
            return;
        }

        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    };

    private void WarnIfDue(long refused)
    {
        if (Logger is not { } logger)
        {
            return;
        }

        long now = _time.GetTimestamp();
        long due = Interlocked.Read(ref _nextWarning);
        if (now < due)
        {
            return;
        }

        long next = now + (long)(WarningInterval.TotalSeconds * _time.TimestampFrequency);
        if (Interlocked.CompareExchange(ref _nextWarning, next, due) != due)
        {
            return; // another refusal logged it
        }

        long since = refused - Interlocked.Exchange(ref _refusedAtLastWarning, refused);
        ConnectionLog.AtCap(logger, Listener, Limit, since, refused);
    }

    private sealed class Lease(ConnectionLimiter limiter) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                limiter.Release();
            }
        }
    }
}
