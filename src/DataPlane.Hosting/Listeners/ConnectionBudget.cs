namespace DataPlane.Hosting.Listeners;

/// <summary>One data listener's share of the descriptors left for client connections.</summary>
/// <param name="Listener">The listener's role name ("grpc", "http", "transfer", "api").</param>
/// <param name="Share">Fraction (0..1] of what is left after the headroom and the admin listener's slice.</param>
public sealed record ListenerShare(string Listener, double Share);

/// <summary>How an executable divides its descriptor limit (RLIMIT_NOFILE, soft) among its listeners, so that a
/// connection flood on any one of them can never take the descriptors the rest of the process needs. With N the
/// limit (unlimited counts as 1,048,576):
/// <list type="number">
/// <item>headroom H = <see cref="Reserved"/> + N/16, never given to a listener: log and certificate files, /proc
/// reads, eventfds and epoll, upstream and local-runtime connections, the transfer engine's data connections;</item>
/// <item>the admin listener gets its own slice, A = N/64 clamped to [16, 256], so metrics and health answer during a
/// flood of the data listeners;</item>
/// <item>each data listener gets floor((N − H − A) × share), clamped to [<see cref="MinCap"/>, <see cref="MaxCap"/>].</item>
/// </list>
/// An explicit cap in configuration replaces the derived one of that listener only.</summary>
public sealed record ConnectionBudget
{
    /// <summary>The smallest derived cap of a data listener, even when the limit leaves less (the process then logs
    /// that its caps exceed the limit).</summary>
    public const int MinCap = 8;

    /// <summary>The largest derived cap: about 2 GB of idle HTTP/2 connections; raise it explicitly if a host needs more.</summary>
    public const int MaxCap = 65_536;

    /// <summary>What an unlimited RLIMIT_NOFILE counts as (the kernel's default fs.nr_open).</summary>
    public const long UnlimitedCountsAs = 1 << 20;

    /// <summary>The `dataplane` daemon: gRPC 60%, HTTP/REST 30%, the transfer listener 10%; 256 descriptors fixed
    /// headroom (files, eventfds, the upstream channel).</summary>
    public static ConnectionBudget Daemon { get; } = new()
    {
        Reserved = 256,
        Admin = "admin",
        Shares = [new("grpc", 0.6), new("http", 0.3), new("transfer", 0.1)],
    };

    /// <summary>The `dataplane-agent`: the API gets everything left; 512 descriptors fixed headroom (up to 256 pooled
    /// connections to the local runtime, the GPU pool's channel, files).</summary>
    public static ConnectionBudget Agent { get; } = new()
    {
        Reserved = 512,
        Admin = "admin",
        Shares = [new("api", 1.0)],
    };

    /// <summary>Descriptors always kept out of the listeners' caps, on top of N/16.</summary>
    public required int Reserved { get; init; }

    /// <summary>The name of the admin listener, which gets its own fixed slice.</summary>
    public required string Admin { get; init; }

    /// <summary>The data listeners and their shares (summing to at most 1).</summary>
    public required IReadOnlyList<ListenerShare> Shares { get; init; }

    /// <summary>All listener names: the admin listener, then the data listeners.</summary>
    public IEnumerable<string> Listeners => Shares.Select(s => s.Listener).Prepend(Admin);

    /// <summary>The headroom H for a soft limit of <paramref name="descriptorLimit"/>.</summary>
    public long Headroom(long descriptorLimit) => Reserved + (Effective(descriptorLimit) / 16);

    /// <summary>The derived cap of every listener for a soft limit of <paramref name="descriptorLimit"/>.</summary>
    public IReadOnlyDictionary<string, int> Derive(long descriptorLimit)
    {
        long n = Effective(descriptorLimit);
        long admin = Math.Clamp(n / 64, 16, 256);
        long rest = Math.Max(0, n - Headroom(descriptorLimit) - admin);
        var caps = new Dictionary<string, int>(StringComparer.Ordinal) { [Admin] = (int)admin };
        foreach (var share in Shares)
        {
            caps[share.Listener] = (int)Math.Clamp((long)Math.Floor(rest * share.Share), MinCap, MaxCap);
        }

        return caps;
    }

    private static long Effective(long descriptorLimit) => descriptorLimit <= 0 || descriptorLimit > UnlimitedCountsAs ? UnlimitedCountsAs : descriptorLimit;
}
