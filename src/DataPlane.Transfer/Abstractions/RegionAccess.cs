namespace DataPlane.Transfer.Abstractions;

/// <summary>What a registered region allows. The values are those of <c>ibv_access_flags</c>, so the RDMA
/// transport passes them to <c>ibv_reg_mr</c> unchanged; the TCP transport enforces the remote bits itself.</summary>
[Flags]
public enum RegionAccess
{
    /// <summary>Local use only: the region can be the source of a WRITE or SEND.</summary>
    None = 0,

    /// <summary>The local NIC may write the region: the destination of a READ or of a received message.</summary>
    LocalWrite = 1,

    /// <summary>Peers may WRITE into the region.</summary>
    RemoteWrite = 2,

    /// <summary>Peers may READ from the region.</summary>
    RemoteRead = 4,

    /// <summary>Everything a region exposed to peers needs.</summary>
    All = LocalWrite | RemoteWrite | RemoteRead,
}
