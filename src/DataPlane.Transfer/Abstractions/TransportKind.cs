namespace DataPlane.Transfer.Abstractions;

/// <summary>The wire a connection moves bytes over. The numeric values travel in the handshake.</summary>
public enum TransportKind : byte
{
    /// <summary>RDMA over an RC queue pair (RoCEv2 or InfiniBand): one-sided WRITE/READ done by the NICs.</summary>
    Rdma = 1,

    /// <summary>A persistent TCP connection that emulates the RDMA semantics in software.</summary>
    Tcp = 2,
}

/// <summary>Names used in logs and metric labels.</summary>
public static class TransportKindNames
{
    /// <summary>"rdma" or "tcp".</summary>
    public static string Name(this TransportKind kind) => kind switch
    {
        TransportKind.Rdma => "rdma",
        TransportKind.Tcp => "tcp",
        _ => "unknown",
    };
}
