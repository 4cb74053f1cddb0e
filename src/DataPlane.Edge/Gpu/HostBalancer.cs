using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Gpu;

/// <summary>Chooses a GPU host per request and keeps each host's health (the agent's side of load-aware balancing).
/// <para>Load-aware: two different hosts at random among those not ejected, the one with the lower expected time to
/// first token wins: its reported queue wait (while fresh) plus (its outstanding requests still waiting for their first
/// token + 1) × its latency estimate
/// (the median of its last <see cref="RecentSamples"/> times to first token; above the pool's best, it falls to the best within
/// <see cref="BalancingOptions.LatencyDecay"/> without new samples).
/// Round-robin: the next host not ejected.</para>
/// <para>A host is ejected after <see cref="BalancingOptions.ConsecutiveFailures"/> failures in a row or (load-aware)
/// when its median time to first token is an outlier against the other hosts'; the n-th ejection lasts n × the base
/// time (capped). When its time is over it is probed (ModelReady) and returns if the probe succeeds. Ejections are
/// refused when they would leave more than <see cref="BalancingOptions.MaxEjectedPercent"/> of the hosts ejected, and
/// the last host is never ejected: its failures are left to the agent's circuit breaker.</para></summary>
public sealed partial class HostBalancer
{
    /// <summary>Samples the latency estimate is the median of.</summary>
    public const int RecentSamples = 5;

    private readonly BalancingOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private GpuHost[] _hosts = [];
    private int _next;

    public HostBalancer(BalancingOptions options, TimeProvider? time = null, Random? random = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time ?? TimeProvider.System;
        _random = random ?? new Random();
        _logger = logger;
    }

    /// <summary>Called on each pick (host), ejection (host, reason) and return (host).</summary>
    public Action<GpuHost>? Picked { get; set; }

    /// <inheritdoc cref="Picked"/>
    public Action<GpuHost, string>? HostEjected { get; set; }

    /// <inheritdoc cref="Picked"/>
    public Action<GpuHost>? HostReturned { get; set; }

    public BalancingOptions Options => _options;

    /// <summary>The hosts in the pool now.</summary>
    public IReadOnlyList<GpuHost> Hosts => Volatile.Read(ref _hosts);

    /// <summary>Replaces the pool's hosts. Hosts kept (same instance) keep their state; the caller keeps one instance per
    /// address. Returns the hosts that left (marked <see cref="GpuHost.Removed"/>).</summary>
    public IReadOnlyList<GpuHost> SetHosts(IReadOnlyList<GpuHost> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        lock (_gate)
        {
            var removed = _hosts.Where(h => !hosts.Contains(h)).ToArray();
            foreach (var h in removed)
            {
                h.Removed = true;
            }

            Volatile.Write(ref _hosts, [.. hosts]);
            return removed;
        }
    }

    /// <summary>The host for the next request (its outstanding count is raised; call <see cref="Release"/> when the
    /// request ends), or null when the pool has no hosts.</summary>
    public GpuHost? Pick()
    {
        GpuHost? chosen;
        lock (_gate)
        {
            var hosts = _hosts;
            if (hosts.Length == 0)
            {
                return null;
            }

            long now = _time.GetTimestamp();
            int available = 0;
            foreach (var h in hosts)
            {
                available += h.Ejected ? 0 : 1;
            }

            // Everything ejected cannot happen by the rules, but a removal can leave only ejected hosts: use them all.
            bool all = available == 0;
            int count = all ? hosts.Length : available;
            if (_options.Policy == BalancingPolicy.RoundRobin || count == 1)
            {
                chosen = Nth(hosts, all, _next++ % count);
                _next %= Math.Max(1, hosts.Length) * 1024;
            }
            else
            {
                int a = _random.Next(count);
                int b = _random.Next(count - 1);
                if (b >= a)
                {
                    b++;
                }

                var first = Nth(hosts, all, a);
                var second = Nth(hosts, all, b);
                double best = BestLatency(hosts);
                double ca = Cost(first, now, best), cb = Cost(second, now, best);
                chosen = ca < cb || (ca == cb && _random.Next(2) == 0) ? first : second;
            }

            Interlocked.Increment(ref chosen.OutstandingCount);
            Interlocked.Increment(ref chosen.AwaitingFirstCount);
        }

        Picked?.Invoke(chosen);
        return chosen;
    }

    /// <summary>The expected time to first token of one more request on <paramref name="host"/>, in seconds.</summary>
    public double Cost(GpuHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            return Cost(host, now, BestLatency(_hosts));
        }
    }

    /// <summary>The request's first response came after <paramref name="latency"/>: a sample, and the host works.</summary>
    public void OnFirstResponse(GpuHost host, TimeSpan latency)
    {
        ArgumentNullException.ThrowIfNull(host);
        DecrementToZero(ref host.AwaitingFirstCount);
        lock (_gate)
        {
            host.ConsecutiveFailures = 0;
            AddSample(host, latency.TotalSeconds);
            CheckOutlier(host);
        }
    }

    /// <summary>The request ended; <paramref name="answered"/>: <see cref="OnFirstResponse"/> was called for it.
    /// <paramref name="waited"/>: how long it had waited without a first response when it was cancelled (our side gave
    /// up: the client left or the other side won); a wait longer than the host's estimate counts as a sample, since its
    /// first token would have come later still.</summary>
    public void Release(GpuHost host, bool answered = false, TimeSpan? waited = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        Interlocked.Decrement(ref host.OutstandingCount);
        if (!answered)
        {
            DecrementToZero(ref host.AwaitingFirstCount);
        }

        if (waited is { } w)
        {
            lock (_gate)
            {
                if (double.IsNaN(host.Latency) || w.TotalSeconds > host.Latency)
                {
                    AddSample(host, w.TotalSeconds);
                    CheckOutlier(host);
                }
            }
        }
    }

    /// <summary>The request failed with <paramref name="status"/>. Failures that say the host is unwell count towards
    /// ejection; answers about the request (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, …) do not.</summary>
    public void OnFailure(GpuHost host, StatusCode status)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (!IsHostFailure(status))
        {
            return;
        }

        lock (_gate)
        {
            if (++host.ConsecutiveFailures >= _options.ConsecutiveFailures && !host.Ejected)
            {
                TryEject(host, "failures");
            }
        }
    }

    /// <summary>The host reported its queue wait (a trailer or a probe).</summary>
    public void OnReport(GpuHost host, double waitSeconds)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (!double.IsFinite(waitSeconds) || waitSeconds < 0)
        {
            return;
        }

        lock (_gate)
        {
            host.ReportedWait = waitSeconds;
            host.ReportedAt = _time.GetTimestamp();
        }
    }

    /// <summary>Hosts to probe now: ejected hosts whose time is over, and (load-aware) hosts whose last report is
    /// older than the probe interval. Each is marked as being probed until <see cref="OnProbe"/>.</summary>
    public IReadOnlyList<GpuHost> DueForProbe()
    {
        var due = new List<GpuHost>();
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            foreach (var h in _hosts)
            {
                if (h.Probing)
                {
                    continue;
                }

                bool returnDue = h.Ejected && now >= h.EjectedUntil;
                bool stale = !h.Ejected && _options.Policy == BalancingPolicy.LoadAware
                    && (h.ReportedAt == long.MinValue || _time.GetElapsedTime(h.ReportedAt, now) >= _options.ProbeInterval);
                if (returnDue || stale)
                {
                    h.Probing = true;
                    due.Add(h);
                }
            }
        }

        return due;
    }

    /// <summary>A probe's result: an ejected host returns when it answered ready (its outlier window starts
    /// afresh; its latency estimate is kept, fading with age), or is ejected again for longer when it did not.</summary>
    public void OnProbe(GpuHost host, bool ready, double? waitSeconds)
    {
        ArgumentNullException.ThrowIfNull(host);
        bool returned = false;
        lock (_gate)
        {
            host.Probing = false;
            long now = _time.GetTimestamp();
            if (waitSeconds is { } w && double.IsFinite(w) && w >= 0)
            {
                host.ReportedWait = w;
                host.ReportedAt = now;
            }

            if (host.Ejected && now >= host.EjectedUntil)
            {
                if (ready)
                {
                    // The outlier window starts afresh; the latency estimate is kept (fading as it ages), so a host that
                    // was ejected for being slow comes back cautiously.
                    host.Ejected = false;
                    host.ConsecutiveFailures = 0;
                    host.SampleCount = 0;
                    host.SampleNext = 0;
                    host.ReturnedAt = now;
                    returned = true;
                }
                else
                {
                    Eject(host, "probe", now);
                }
            }
        }

        if (returned)
        {
            if (_logger != null)
            {
                Log.Returned(_logger, host.Name);
            }

            HostReturned?.Invoke(host);
        }
    }

    /// <summary>A sample recorded without a pick (a test, a late report) never takes the count below zero.</summary>
    private static void DecrementToZero(ref int count)
    {
        int seen = Volatile.Read(ref count);
        while (seen > 0)
        {
            int was = Interlocked.CompareExchange(ref count, seen - 1, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    internal static bool IsHostFailure(StatusCode status) =>
        status is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.DataLoss or StatusCode.DeadlineExceeded;

    private static GpuHost Nth(GpuHost[] hosts, bool all, int index)
    {
        foreach (var h in hosts)
        {
            if (all || !h.Ejected)
            {
                if (index-- == 0)
                {
                    return h;
                }
            }
        }

        return hosts[0];
    }

    private double Cost(GpuHost host, long now, double best)
    {
        double wait = host.ReportedAt != long.MinValue && _time.GetElapsedTime(host.ReportedAt, now) <= _options.ReportMaxAge ? host.ReportedWait : 0;
        // Requests still waiting for their first token are what a new request's first token waits behind; a stream past
        // its first token shares the model's decode steps instead (and the host's own report covers its load).
        return wait + ((host.AwaitingFirstResponse + 1) * Estimate(host, now, best));
    }

    /// <summary>The host's latency estimate: its mean; above the pool's best, it falls linearly to the best over
    /// <see cref="BalancingOptions.LatencyDecay"/> without new samples (so a host once slow is tried again); the best
    /// when it has no samples yet (so a new or returning host is tried).</summary>
    private double Estimate(GpuHost host, long now, double best)
    {
        if (double.IsNaN(host.Latency))
        {
            return double.IsNaN(best) ? 0 : best;
        }

        if (double.IsNaN(best) || host.Latency <= best || _options.LatencyDecay <= TimeSpan.Zero)
        {
            return host.Latency;
        }

        double age = _time.GetElapsedTime(host.LatencyAt, now).TotalSeconds;
        double weight = Math.Max(0, 1 - (age / _options.LatencyDecay.TotalSeconds));
        return best + ((host.Latency - best) * weight);
    }

    /// <summary>The lowest latency mean among hosts not ejected (NaN when none has one).</summary>
    private static double BestLatency(GpuHost[] hosts)
    {
        double best = double.NaN;
        foreach (var h in hosts)
        {
            if (!h.Ejected && !double.IsNaN(h.Latency) && !(h.Latency >= best))
            {
                best = h.Latency;
            }
        }

        return best;
    }

    private static double Median(Span<double> values)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        values.Sort();
        int mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private void AddSample(GpuHost host, double seconds)
    {
        long now = _time.GetTimestamp();
        host.Samples[host.SampleNext] = (now, seconds);
        host.SampleNext = (host.SampleNext + 1) % GpuHost.SampleCapacity;
        host.SampleCount = Math.Min(host.SampleCount + 1, GpuHost.SampleCapacity);
        // The median of the last few samples: one answer slowed by a busy moment does not make a host look slow (an
        // average or a peak-sensitive mean does, and then a host several times slower wins against it), while a host
        // that turns slow is seen as such from its third slow answer.
        Span<double> recent = stackalloc double[RecentSamples];
        int n = Math.Min(host.SampleCount, RecentSamples);
        for (int i = 0; i < n; i++)
        {
            recent[i] = host.Samples[(host.SampleNext - 1 - i + GpuHost.SampleCapacity) % GpuHost.SampleCapacity].Seconds;
        }

        host.Latency = Median(recent[..n]);
        host.LatencyAt = now;
    }

    /// <summary>The host's median sample within the outlier window, or NaN with fewer than the minimum.</summary>
    private double WindowMedian(GpuHost host, long now)
    {
        Span<double> values = stackalloc double[GpuHost.SampleCapacity];
        int n = 0;
        for (int i = 0; i < host.SampleCount; i++)
        {
            var (at, seconds) = host.Samples[i];
            if (_time.GetElapsedTime(at, now) <= _options.OutlierWindow)
            {
                values[n++] = seconds;
            }
        }

        return n >= Math.Max(1, _options.OutlierMinSamples) ? Median(values[..n]) : double.NaN;
    }

    private void CheckOutlier(GpuHost host)
    {
        if (_options.Policy != BalancingPolicy.LoadAware || host.Ejected || _options.OutlierFactor <= 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        double mine = WindowMedian(host, now);
        if (double.IsNaN(mine))
        {
            return;
        }

        Span<double> others = stackalloc double[Math.Min(_hosts.Length, 256)];
        int n = 0;
        foreach (var h in _hosts)
        {
            if (h != host && !h.Ejected && n < others.Length && WindowMedian(h, now) is var m && !double.IsNaN(m))
            {
                others[n++] = m;
            }
        }

        double pool = Median(others[..n]);
        if (!double.IsNaN(pool) && mine > _options.OutlierFactor * pool && mine - pool >= _options.OutlierMinGap.TotalSeconds)
        {
            TryEject(host, "latency");
        }
    }

    private void TryEject(GpuHost host, string reason)
    {
        int ejected = 0;
        foreach (var h in _hosts)
        {
            ejected += h.Ejected ? 1 : 0;
        }

        int allowed = Math.Min(_hosts.Length - 1, _hosts.Length * _options.MaxEjectedPercent / 100);
        if (ejected + 1 > allowed)
        {
            if (_logger != null)
            {
                Log.EjectionRefused(_logger, host.Name, reason, ejected, _hosts.Length);
            }

            return;
        }

        Eject(host, reason, _time.GetTimestamp());
    }

    private void Eject(GpuHost host, string reason, long now)
    {
        if (!host.Ejected && host.ReturnedAt != 0 && _time.GetElapsedTime(host.ReturnedAt, now) >= _options.MaxEjectionTime)
        {
            host.Ejections = 0;
        }

        host.Ejections++;
        var length = TimeSpan.FromTicks(Math.Min(_options.BaseEjectionTime.Ticks * host.Ejections, _options.MaxEjectionTime.Ticks));
        host.Ejected = true;
        host.EjectedUntil = now + (long)(length.TotalSeconds * _time.TimestampFrequency);
        if (_logger != null)
        {
            Log.Ejected(_logger, host.Name, reason, length.TotalSeconds, host.Ejections);
        }

        HostEjected?.Invoke(host, reason);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4200, Level = LogLevel.Warning, Message = "GPU host {Host} ejected ({Reason}) for {Seconds} s (ejection {Count})")]
        public static partial void Ejected(ILogger logger, string host, string reason, double seconds, int count);

        [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "GPU host {Host} answered its probe and is back in the pool")]
        public static partial void Returned(ILogger logger, string host);

        [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "GPU host {Host} not ejected ({Reason}): {Ejected} of {Hosts} hosts are ejected already, the most allowed (the last host is never ejected)")]
        public static partial void EjectionRefused(ILogger logger, string host, string reason, int ejected, int hosts);
    }
}
