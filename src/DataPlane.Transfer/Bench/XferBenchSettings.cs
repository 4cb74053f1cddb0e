using System.Globalization;
using System.Net;
using DataPlane.Transfer.Engine;

namespace DataPlane.Transfer.Bench;

/// <summary>What <c>dataplane xfer-bench</c> measures.</summary>
public enum XferTest
{
    /// <summary>Bandwidth and latency.</summary>
    All,

    /// <summary>Bandwidth only (like ib_write_bw / ib_read_bw).</summary>
    Bandwidth,

    /// <summary>Latency only (like ib_send_lat / ib_write_lat).</summary>
    Latency,
}

/// <summary>Settings of one xfer-bench run, parsed by <see cref="XferBenchArguments"/>.</summary>
public sealed record XferBenchSettings
{
    /// <summary>Default bandwidth message sizes: 4 KiB to 64 MiB in steps of four.</summary>
    public static IReadOnlyList<int> DefaultSizes { get; } = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];

    /// <summary>Default latency message sizes.</summary>
    public static IReadOnlyList<int> DefaultLatencySizes { get; } = [8, 64, 512, 4096];

    /// <summary>True for the server side.</summary>
    public bool Server { get; init; }

    /// <summary>Server: where to listen (default all addresses, port <see cref="TransferOptions.DefaultPort"/>).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, TransferOptions.DefaultPort);

    /// <summary>Client: the server's host name or address.</summary>
    public string? ConnectHost { get; init; }

    /// <summary>Client: the server's port.</summary>
    public int ConnectPort { get; init; } = TransferOptions.DefaultPort;

    /// <summary>Client with TLS: the server's identity (a DNS name or URI of its certificate); from
    /// <c>--connect NAME@HOST:PORT</c>, or the host when it is a DNS name.</summary>
    public string? ConnectName { get; init; }

    /// <summary>This side's certificate (PEM); with <see cref="KeyPath"/> and <see cref="CaPath"/> the connection runs
    /// mutual TLS. Null: plain TCP, unauthenticated.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The certificate's private key (PEM).</summary>
    public string? KeyPath { get; init; }

    /// <summary>The CA the peer's certificate must chain to (PEM).</summary>
    public string? CaPath { get; init; }

    /// <summary>With TLS: false sends TCP data in clear after the authenticated handshake (<c>--encryption none</c>).</summary>
    public bool EncryptData { get; init; } = true;

    /// <summary>Server with TLS: the client names allowed (null: any certificate from the CA).</summary>
    public IReadOnlyList<string>? AllowedPeers { get; init; }

    /// <summary>True when certificates were given.</summary>
    public bool Tls => CertificatePath is not null;

    /// <summary>auto, rdma or tcp.</summary>
    public TransportMode Transport { get; init; } = TransportMode.Auto;

    /// <summary>Bandwidth message sizes.</summary>
    public IReadOnlyList<int> Sizes { get; init; } = DefaultSizes;

    /// <summary>Latency message sizes.</summary>
    public IReadOnlyList<int> LatencySizes { get; init; } = DefaultLatencySizes;

    /// <summary>Operations per bandwidth size (default 1000).</summary>
    public int Iterations { get; init; } = 1000;

    /// <summary>Round trips per latency size (default 1000).</summary>
    public int LatencyIterations { get; init; } = 1000;

    /// <summary>Cap on each bandwidth size's measured time (default 2 s): a size stops at its iteration count
    /// or this duration, whichever comes first.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Operations in flight during the bandwidth test (default 16; perftest's tx depth is 128).</summary>
    public int Window { get; init; } = 16;

    /// <summary>Bandwidth operations: write, read or both (default both).</summary>
    public bool Write { get; init; } = true;

    /// <summary>See <see cref="Write"/>.</summary>
    public bool Read { get; init; } = true;

    /// <summary>Which tests run.</summary>
    public XferTest Test { get; init; } = XferTest.All;

    /// <summary>Where to write the JSON report (null: none).</summary>
    public string? JsonPath { get; init; }

    /// <summary>Server: the registered region peers write to and read from (default 64 MiB).</summary>
    public int RegionBytes { get; init; } = 64 << 20;

    /// <summary>Server: exit after the first client disconnects.</summary>
    public bool Once { get; init; }

    /// <summary>Flow class of the client's connection (default "default").</summary>
    public string? FlowClass { get; init; }

    /// <summary>DSCP of the connection's flow class, 0–63 (default 0).</summary>
    public int Dscp { get; init; }

    /// <summary>RDMA device and GID selection (used when no RDMA factory is supplied).</summary>
    public Rdma.RdmaOptions Rdma { get; init; } = new();

    /// <summary>Formats a byte count the way the sizes are written (4K, 1M, 100).</summary>
    public static string FormatSize(long bytes) =>
        bytes >= 1 << 30 && bytes % (1 << 30) == 0 ? (bytes >> 30).ToString(CultureInfo.InvariantCulture) + "G"
        : bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? (bytes >> 20).ToString(CultureInfo.InvariantCulture) + "M"
        : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? (bytes >> 10).ToString(CultureInfo.InvariantCulture) + "K"
        : bytes.ToString(CultureInfo.InvariantCulture);
}
