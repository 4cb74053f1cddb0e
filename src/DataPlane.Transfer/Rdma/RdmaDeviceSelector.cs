using System.Net;
using DataPlane.Interop.Verbs;

namespace DataPlane.Transfer.Rdma;

/// <summary>What <see cref="RdmaDeviceSelector"/> chose: a device, an active port and a GID to send from.</summary>
/// <param name="Device">Device name.</param>
/// <param name="Port">1-based port.</param>
/// <param name="Gid">The GID table entry (its index is the RTR sgid_index).</param>
/// <param name="ActiveMtu">The port's active MTU (the local half of the path MTU).</param>
/// <param name="Lid">The port's LID (0 on RoCE).</param>
/// <param name="Rejections">Every candidate passed over, with the reason ("mlx5_0 port 1 gid 0 fe80::…: link-local").</param>
public sealed record RdmaSelection(string Device, int Port, VerbsGidEntry Gid, Mtu ActiveMtu, ushort Lid, IReadOnlyList<string> Rejections);

/// <summary>Chooses the device, port and GID of the RDMA transport, following the reference rules: only active
/// ports; a RoCE v2 GID (an InfiniBand GID on an InfiniBand port) that is non-zero, not link-local and bound to a
/// netdev; IPv4-mapped GIDs before IPv6 ones, then the lowest index; an optional CIDR subnet filter; explicit
/// device/port/GID-index overrides. Every rejected candidate is reported with its reason, so "why did it fall back
/// to TCP" has an answer in the log.</summary>
public static class RdmaDeviceSelector
{
    /// <summary>Picks a device, port and GID, or returns null with <paramref name="reason"/> saying why nothing fits.</summary>
    public static RdmaSelection? Select(IReadOnlyList<VerbsDeviceInfo> devices, RdmaOptions options, out string reason)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(options);
        var rejections = new List<string>();
        IPNetwork? subnet = options.Subnet is null ? null : IPNetwork.Parse(options.Subnet);
        RdmaSelection? best = null;
        int bestScore = int.MinValue;
        if (devices.Count == 0)
        {
            reason = "no RDMA devices";
            return null;
        }

        foreach (var device in devices)
        {
            if (options.Device is not null && device.Name != options.Device)
            {
                rejections.Add($"{device.Name}: not the configured device {options.Device}");
                continue;
            }

            if (device.Problem is not null)
            {
                rejections.Add($"{device.Name}: {device.Problem}");
                continue;
            }

            foreach (var port in device.Ports)
            {
                string where = $"{device.Name} port {port.PortNumber}";
                if (options.Port is int wanted && port.PortNumber != wanted)
                {
                    rejections.Add($"{where}: not the configured port {wanted}");
                    continue;
                }

                if (port.State != PortState.Active)
                {
                    rejections.Add($"{where}: state {port.State}, not active");
                    continue;
                }

                bool infiniBand = port.LinkLayer is LinkLayer.InfiniBand or LinkLayer.Unspecified;
                if (options.GidIndex is int index && !port.Gids.Any(g => g.Index == index))
                {
                    rejections.Add($"{where}: no GID at the configured index {index}");
                    continue;
                }

                foreach (var gid in port.Gids)
                {
                    string candidate = $"{where} gid {gid.Index} {gid.Gid}";
                    string? problem = Check(gid, infiniBand, options, subnet);
                    if (problem is not null)
                    {
                        rejections.Add($"{candidate}: {problem}");
                        continue;
                    }

                    // IPv4-mapped first (what RoCE v2 peers on IPv4 networks route), then the lowest index.
                    int score = (gid.Gid.IsIPv4Mapped ? 1 << 20 : 0) - gid.Index;
                    if (score > bestScore)
                    {
                        if (best is not null)
                        {
                            rejections.Add($"{best.Device} port {best.Port} gid {best.Gid.Index} {best.Gid.Gid}: usable, but a better GID exists");
                        }

                        bestScore = score;
                        best = new RdmaSelection(device.Name, port.PortNumber, gid, port.ActiveMtu, port.Lid, rejections);
                    }
                    else
                    {
                        rejections.Add($"{candidate}: usable, but a better GID exists");
                    }
                }
            }
        }

        if (best is null)
        {
            reason = rejections.Count == 0 ? "no active port with a GID" : "no usable GID: " + string.Join("; ", rejections);
            return null;
        }

        reason = $"{best.Device} port {best.Port} gid index {best.Gid.Index} ({best.Gid.Gid}, {best.Gid.Type}" +
            (best.Gid.Netdev is null ? ")" : $" on {best.Gid.Netdev})");
        return best;
    }

    /// <summary>Why <paramref name="gid"/> cannot be used, or null when it can.</summary>
    private static string? Check(VerbsGidEntry gid, bool infiniBand, RdmaOptions options, IPNetwork? subnet)
    {
        if (options.GidIndex is int index && gid.Index != index)
        {
            return $"not the configured GID index {index}";
        }

        if (gid.Gid.IsZero)
        {
            return "zero GID";
        }

        if (options.GidIndex is not null)
        {
            // An explicit index is the operator's decision: only an empty entry is refused.
            return null;
        }

        if (infiniBand)
        {
            return gid.Type is GidType.InfiniBand or GidType.Unknown ? null : $"type {gid.Type} on an InfiniBand port";
        }

        if (gid.Type != GidType.RoceV2)
        {
            return gid.Type == GidType.RoceV1 ? "RoCE v1 (not routable)" : $"type {gid.Type}, not RoCE v2";
        }

        if (gid.Gid.IsLinkLocal)
        {
            return "link-local";
        }

        if (gid.NetdevIndex == 0 && string.IsNullOrEmpty(gid.Netdev))
        {
            return "not bound to a netdev";
        }

        if (subnet is { } net && !net.Contains(gid.Address))
        {
            return $"outside subnet {net}";
        }

        return null;
    }
}
