using System.Collections;
using System.Globalization;
using DataPlane.Hosting.Metrics;
using DataPlane.Interop.Resources;
using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Listeners;

/// <summary>The connection caps of every listener of an executable, derived once at start from the descriptor limit
/// (<see cref="ConnectionBudget"/>) and the explicit caps in configuration (<see cref="ConnectionLimitOptions"/>).
/// Kestrel listeners take theirs in <see cref="ListenerSetup.Listen"/>; other listeners (the transfer engine's) take
/// theirs by name with the indexer.</summary>
public sealed class ConnectionLimits : IReadOnlyCollection<ConnectionLimiter>
{
    private readonly Dictionary<string, ConnectionLimiter> _limiters;
    private readonly string[] _order;

    private ConnectionLimits(DescriptorLimit descriptors, long headroom, Dictionary<string, ConnectionLimiter> limiters, string[] order,
        IReadOnlySet<string> explicitCaps)
    {
        Descriptors = descriptors;
        Headroom = headroom;
        _limiters = limiters;
        _order = order;
        Explicit = explicitCaps;
    }

    /// <summary>The descriptor limit the caps were derived from.</summary>
    public DescriptorLimit Descriptors { get; }

    /// <summary>Descriptors kept out of every cap (<see cref="ConnectionBudget.Headroom"/>).</summary>
    public long Headroom { get; }

    /// <summary>Listeners whose cap came from configuration rather than the descriptor limit.</summary>
    public IReadOnlySet<string> Explicit { get; }

    /// <summary>The caps and the headroom together: what the process may need at most.</summary>
    public long Committed => Headroom + _limiters.Values.Sum(l => (long)l.Limit);

    /// <summary>True when a flood of every listener at once could run the process out of descriptors (explicit caps too
    /// large for the limit, or a limit too small for the smallest caps).</summary>
    public bool Overcommitted => Committed > Math.Min(Descriptors.Soft, ConnectionBudget.UnlimitedCountsAs);

    public int Count => _limiters.Count;

    /// <summary>The limiter of <paramref name="listener"/> (e.g. "grpc", "transfer").</summary>
    public ConnectionLimiter this[string listener] =>
        _limiters.TryGetValue(listener, out var l) ? l : throw new KeyNotFoundException($"no connection limit for listener '{listener}'");

    /// <summary>Derives every listener's cap from the process's current descriptor limit.</summary>
    public static ConnectionLimits Create(ConnectionBudget budget, ConnectionLimitOptions options, TimeProvider? time = null) =>
        Create(budget, options, DescriptorLimit.Current(), time);

    /// <summary>Derives every listener's cap from <paramref name="descriptors"/> (tests pass any limit).</summary>
    public static ConnectionLimits Create(ConnectionBudget budget, ConnectionLimitOptions options, DescriptorLimit descriptors, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentNullException.ThrowIfNull(options);
        var derived = budget.Derive(descriptors.Soft);
        var limiters = new Dictionary<string, ConnectionLimiter>(StringComparer.Ordinal);
        var explicitCaps = new HashSet<string>(StringComparer.Ordinal);
        var order = budget.Listeners.ToArray();
        foreach (string name in order)
        {
            int cap = derived[name];
            if (options.MaxConnections.TryGetValue(name, out int configured))
            {
                cap = configured;
                explicitCaps.Add(name);
            }

            limiters[name] = new ConnectionLimiter(name, cap, time);
        }

        return new ConnectionLimits(descriptors, budget.Headroom(descriptors.Soft), limiters, order, explicitCaps);
    }

    /// <summary>Sends the refusal warnings to <paramref name="logger"/> and logs the caps once (with a warning when
    /// <see cref="Overcommitted"/>).</summary>
    public void UseLogger(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        foreach (var limiter in _limiters.Values)
        {
            limiter.Logger = logger;
        }

        string caps = Describe();
        string limit = Descriptors.Soft == long.MaxValue ? "unlimited" : Descriptors.Soft.ToString(CultureInfo.InvariantCulture);
        if (Overcommitted)
        {
            ConnectionLog.Overcommitted(logger, limit, caps, Headroom, Committed);
        }
        else
        {
            ConnectionLog.Caps(logger, limit, caps, Headroom);
        }
    }

    /// <summary>"grpc 36556, http 18278, admin 256 (set), …", in the budget's order.</summary>
    public string Describe() => string.Join(", ", _order.Select(n =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {_limiters[n].Limit}{(Explicit.Contains(n) ? " (configured)" : "")}")));

    /// <summary>Exports <c>{prefix}_connections_open</c>, <c>_limit</c> (gauges), <c>_accepted_total</c>, <c>_refused_total</c>
    /// (counters), all by <c>listener</c>, and <c>process_max_fds</c>, read at each export (the agent's registry).</summary>
    public void ExportTo(MetricRegistry metrics, string prefix)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var open = metrics.CreateGauge(prefix + "_connections_open", "Connections open on a listener.", "listener");
        var limit = metrics.CreateGauge(prefix + "_connections_limit", "Most connections a listener holds open at once; one more is closed at once and counted as refused.", "listener");
        var accepted = metrics.CreateCounter(prefix + "_connections_accepted_total", "Connections a listener accepted.", "listener");
        var refused = metrics.CreateCounter(prefix + "_connections_refused_total", "Connections a listener closed at once because it was at its limit.", "listener");
        var maxFds = metrics.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        var exported = _order.Select(n => (Limiter: _limiters[n], Accepted: new ExportedCount(), Refused: new ExportedCount())).ToArray();
        metrics.AddBeforeExport(() =>
        {
            maxFds.Set(Descriptors.Soft);
            foreach (var (limiter, acceptedSoFar, refusedSoFar) in exported)
            {
                open.WithLabels(limiter.Listener).Set(limiter.Open);
                limit.WithLabels(limiter.Listener).Set(limiter.Limit);
                accepted.WithLabels(limiter.Listener).Inc(acceptedSoFar.Advance(limiter.Accepted));
                refused.WithLabels(limiter.Listener).Inc(refusedSoFar.Advance(limiter.Refused));
            }
        });
    }

    public IEnumerator<ConnectionLimiter> GetEnumerator() => _order.Select(n => _limiters[n]).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>How much of a monotonic count a counter has been given; concurrent exports never give a part twice.</summary>
    private sealed class ExportedCount
    {
        private long _exported;

        public long Advance(long current)
        {
            long seen = Interlocked.Read(ref _exported);
            while (current > seen)
            {
                long found = Interlocked.CompareExchange(ref _exported, current, seen);
                if (found == seen)
                {
                    return current - seen;
                }

                seen = found;
            }

            return 0;
        }
    }
}

/// <summary>Log messages of connection limits (event ids 6100–6109).</summary>
internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 6100, Level = LogLevel.Information,
        Message = "Connection limits (descriptor limit {Limit}, {Headroom} kept for files and outgoing connections): {Caps}")]
    public static partial void Caps(ILogger logger, string limit, string caps, long headroom);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning,
        Message = "Connection limits exceed the descriptor limit {Limit}: {Caps} plus {Headroom} kept for files and outgoing connections is {Committed}; a flood could exhaust descriptors. Lower Listen:Limits:MaxConnections or raise LimitNOFILE")]
    public static partial void Overcommitted(ILogger logger, string limit, string caps, long headroom, long committed);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning,
        Message = "Listener {Listener} is at its limit of {Limit} connections: new connections are closed at once ({Since} since the last warning, {Total} in all). If this is real load, raise Listen:Limits:MaxConnections or LimitNOFILE")]
    public static partial void AtCap(ILogger logger, string listener, int limit, long since, long total);
}
