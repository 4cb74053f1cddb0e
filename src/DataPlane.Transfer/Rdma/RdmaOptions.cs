namespace DataPlane.Transfer.Rdma;

/// <summary>Configuration of the RDMA transport: which library, device, port and GID to use and how the queue
/// pairs and completion pollers are sized. Defaults pick the best RoCE v2 GID of the first active port.</summary>
public sealed record RdmaOptions
{
    /// <summary>The verbs library to load: a path or soname (default null: <c>libibverbs.so.1</c>).</summary>
    public string? LibraryPath { get; init; }

    /// <summary>Use only this device (e.g. "mlx5_0"); default null: any.</summary>
    public string? Device { get; init; }

    /// <summary>Use only this port (1-based); default null: any active port.</summary>
    public int? Port { get; init; }

    /// <summary>Use this GID index (overrides the automatic choice; the entry must exist and be non-zero).</summary>
    public int? GidIndex { get; init; }

    /// <summary>Only GIDs whose address lies in this CIDR subnet (e.g. "10.1.0.0/16"); default null: any.</summary>
    public string? Subnet { get; init; }

    /// <summary>Largest path MTU to use, as <c>enum ibv_mtu</c> (default 5 = 4096).</summary>
    public byte MtuCap { get; init; } = 5;

    /// <summary>GRH hop limit (the IP TTL on RoCE v2; default 64: must exceed the router hops).</summary>
    public byte HopLimit { get; init; } = 64;

    /// <summary>Send-queue work requests per queue pair (default 512).</summary>
    public int SendQueueDepth { get; init; } = 512;

    /// <summary>Signal at least every Nth work request of a chain (default 16); the last of each chain always is.
    /// Unsignalled requests free their send-queue slots only when a later signalled one completes.</summary>
    public int SignalInterval { get; init; } = 16;

    /// <summary>RDMA READs outstanding per queue pair, each way (default 16; capped by the device).</summary>
    public int MaxReadAtomic { get; init; } = 16;

    /// <summary>How long the completion poller spins on an empty queue before it sleeps on the completion
    /// channel (default 50 µs; zero: always event-driven).</summary>
    public TimeSpan BusyPollBudget { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Completions taken per poll (default 16).</summary>
    public int PollBatch { get; init; } = 16;

    /// <summary>Upper bound of one connection's registered send buffers, in bytes (default 16 MiB); the number
    /// of send slots is min(receive depth, this / the peer's message size), at least 1.</summary>
    public int SendBufferBytes { get; init; } = 16 << 20;

    /// <summary>Problems with the values, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MtuCap is < 1 or > 5)
        {
            errors.Add($"rdma mtu cap: {MtuCap} is outside 1..5");
        }

        if (Port is < 1 or > 255)
        {
            errors.Add($"rdma port: {Port} is outside 1..255");
        }

        if (GidIndex is < 0 or > 255)
        {
            errors.Add($"rdma gid index: {GidIndex} is outside 0..255");
        }

        if (Subnet is not null && !System.Net.IPNetwork.TryParse(Subnet, out _))
        {
            errors.Add($"rdma subnet: '{Subnet}' is not a CIDR subnet");
        }

        if (HopLimit == 0)
        {
            errors.Add("rdma hop limit: must be positive");
        }

        if (SendQueueDepth is < 2 or > 16384)
        {
            errors.Add($"rdma send queue depth: {SendQueueDepth} is outside 2..16384");
        }

        if (SignalInterval < 1 || SignalInterval > SendQueueDepth / 2)
        {
            errors.Add($"rdma signal interval: {SignalInterval} is outside 1..{SendQueueDepth / 2}");
        }

        if (MaxReadAtomic is < 1 or > 255)
        {
            errors.Add($"rdma max read atomic: {MaxReadAtomic} is outside 1..255");
        }

        if (BusyPollBudget < TimeSpan.Zero)
        {
            errors.Add("rdma busy poll budget: negative");
        }

        if (PollBatch is < 1 or > 4096)
        {
            errors.Add($"rdma poll batch: {PollBatch} is outside 1..4096");
        }

        if (SendBufferBytes <= 0)
        {
            errors.Add("rdma send buffer bytes: must be positive");
        }

        return errors;
    }
}
