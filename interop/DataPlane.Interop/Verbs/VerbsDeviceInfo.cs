using System.Net;

namespace DataPlane.Interop.Verbs;

/// <summary>One RDMA device as <see cref="VerbsLibrary.GetDevices"/> found it.</summary>
/// <param name="Name">Kernel device name, e.g. "mlx5_0".</param>
/// <param name="Attributes">ibv_query_device's answer; null when the device could not be opened.</param>
/// <param name="Ports">Ports 1..n; empty when the device could not be opened.</param>
/// <param name="Problem">Why it could not be opened (e.g. no permission on /dev/infiniband), or null.</param>
public sealed record VerbsDeviceInfo(string Name, VerbsDeviceAttributes? Attributes, IReadOnlyList<VerbsPortInfo> Ports, string? Problem);

/// <summary>Device limits (struct ibv_device_attr) a transfer engine sizes itself by.</summary>
/// <param name="FirmwareVersion">fw_ver.</param>
/// <param name="NodeGuid">node_guid, as a number (the GUID's bytes in network order).</param>
/// <param name="MaxMrSize">Largest single registration; register larger buffers in pieces.</param>
/// <param name="MaxQp">max_qp.</param>
/// <param name="MaxQpWr">Deepest send or receive queue.</param>
/// <param name="MaxSge">Most SGEs per work request.</param>
/// <param name="MaxCq">max_cq.</param>
/// <param name="MaxCqe">Largest completion queue.</param>
/// <param name="MaxMr">max_mr.</param>
/// <param name="MaxPd">max_pd.</param>
/// <param name="MaxQpReadAtomic">max_qp_rd_atom: outstanding READs a QP accepts as responder.</param>
/// <param name="MaxQpInitReadAtomic">max_qp_init_rd_atom: outstanding READs a QP may issue.</param>
/// <param name="PortCount">phys_port_cnt.</param>
public sealed record VerbsDeviceAttributes(
    string FirmwareVersion,
    ulong NodeGuid,
    ulong MaxMrSize,
    int MaxQp,
    int MaxQpWr,
    int MaxSge,
    int MaxCq,
    int MaxCqe,
    int MaxMr,
    int MaxPd,
    int MaxQpReadAtomic,
    int MaxQpInitReadAtomic,
    int PortCount);

/// <summary>One port (the compat part of struct ibv_port_attr) and its populated GID entries.</summary>
/// <param name="PortNumber">1-based.</param>
/// <param name="State">Logical state; only <see cref="PortState.Active"/> carries traffic.</param>
/// <param name="MaxMtu">max_mtu.</param>
/// <param name="ActiveMtu">active_mtu: the most a path over this port may use.</param>
/// <param name="LinkLayer">Ethernet for RoCE.</param>
/// <param name="GidTableLength">gid_tbl_len (slots, including empty ones).</param>
/// <param name="Lid">The port LID (0 on RoCE).</param>
/// <param name="Gids">Non-empty GID slots, by index.</param>
public sealed record VerbsPortInfo(
    int PortNumber,
    PortState State,
    Mtu MaxMtu,
    Mtu ActiveMtu,
    LinkLayer LinkLayer,
    int GidTableLength,
    ushort Lid,
    IReadOnlyList<VerbsGidEntry> Gids);

/// <summary>A populated GID table slot.</summary>
/// <param name="Index">The GID index (the sgid_index to use in RTR).</param>
/// <param name="Gid">The GID.</param>
/// <param name="Type">RoCE v1/v2 or IB.</param>
/// <param name="NetdevIndex">ifindex of the netdev carrying it; 0 when none or not known.</param>
/// <param name="Netdev">The netdev name, or null when none or not known.</param>
public sealed record VerbsGidEntry(int Index, VerbsGid Gid, GidType Type, int NetdevIndex, string? Netdev)
{
    /// <summary>The GID as an address: IPv4 for an IPv4-mapped GID.</summary>
    public IPAddress Address => Gid.ToIPAddress();
}
