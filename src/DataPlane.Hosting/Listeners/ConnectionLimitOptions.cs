using DataPlane.Hosting.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DataPlane.Hosting.Listeners;

/// <summary>Connection limits and idle timeouts of an executable's listeners (<c>Listen:Limits</c>,
/// docs/CONFIGURATION.md). Caps not given here are derived from the descriptor limit (<see cref="ConnectionBudget"/>).</summary>
public sealed record ConnectionLimitOptions
{
    /// <summary>Explicit caps by listener name ("grpc", "admin", …); a listener missing here gets its derived cap.</summary>
    public IReadOnlyDictionary<string, int> MaxConnections { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>How long a connection with no request or stream in progress stays open: HTTP/1.1 between requests
    /// (and before the first), HTTP/2 with no open stream (and before the preface); Kestrel's KeepAliveTimeout.
    /// HTTP/2 pings do not extend it. Clients reconnect on their next call (gRPC and HTTP clients do so without an
    /// error). Default 30 s (Kestrel's own default is 130 s).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An HTTP/2 connection that sent no frame for this long is pinged, and closed when the ping goes
    /// unanswered for <see cref="KeepAlivePingTimeout"/>: a peer that vanished with a stream open gives its connection
    /// back. <see cref="Timeout.InfiniteTimeSpan"/>: no pings. Default 30 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a server ping may go unanswered. Default 20 s.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The most that may be given per listener (and as a sanity bound on configuration).</summary>
    public const int MaxCap = 1 << 20;

    /// <summary>Sets Kestrel's server-wide timeouts (they apply to every listener of the server).</summary>
    public void ApplyTo(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Limits.KeepAliveTimeout = IdleTimeout;
        kestrel.Limits.Http2.KeepAlivePingDelay = KeepAlivePingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = KeepAlivePingTimeout;
    }

    /// <summary>Reads <c>{key}:MaxConnections:&lt;Listener&gt;</c> for each of <paramref name="listeners"/> (configuration
    /// name, e.g. "Grpc", and listener name, e.g. "grpc"), <c>{key}:IdleTimeoutSeconds</c>,
    /// <c>{key}:KeepAlivePingSeconds</c> (0: no pings) and <c>{key}:KeepAlivePingTimeoutSeconds</c>. Any other key under
    /// <c>{key}:MaxConnections</c> is left unread, so the binder reports it as unknown.</summary>
    public static ConnectionLimitOptions Read(ConfigBinder b, string key, IEnumerable<(string ConfigName, string Listener)> listeners)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(listeners);
        var d = new ConnectionLimitOptions();
        var caps = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (configName, listener) in listeners)
        {
            int cap = b.Int($"{key}:MaxConnections:{configName}", 0, 1, MaxCap);
            if (cap > 0)
            {
                caps[listener] = cap;
            }
        }

        var ping = b.Seconds(key + ":KeepAlivePingSeconds", d.KeepAlivePingDelay, 0, 86_400);
        if (ping > TimeSpan.Zero && ping < TimeSpan.FromSeconds(1))
        {
            // Kestrel's own floor for HTTP/2 pings.
            b.Error(key + ":KeepAlivePingSeconds", $"{ping.TotalSeconds} s is less than 1 s (0 turns pings off)");
            ping = d.KeepAlivePingDelay;
        }

        return new ConnectionLimitOptions
        {
            MaxConnections = caps,
            IdleTimeout = b.Seconds(key + ":IdleTimeoutSeconds", d.IdleTimeout, 0.1, 86_400),
            KeepAlivePingDelay = ping == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : ping,
            KeepAlivePingTimeout = b.Seconds(key + ":KeepAlivePingTimeoutSeconds", d.KeepAlivePingTimeout, 1, 86_400),
        };
    }
}
