using System.Globalization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>One port of an RDMA device as sysfs shows it (<c>/sys/class/infiniband/&lt;dev&gt;/ports/&lt;n&gt;/</c>).</summary>
/// <param name="Device">RDMA device, e.g. "mlx5_0".</param>
/// <param name="Port">Port number (1-based).</param>
/// <param name="State">The number of <c>state</c> ("4: ACTIVE" → 4), null when unreadable.</param>
/// <param name="PhysicalState">The number of <c>phys_state</c> ("5: LinkUp" → 5).</param>
/// <param name="RateBytesPerSecond">Parsed from <c>rate</c> ("400 Gb/sec (4X NDR)" → 5e10 bytes/s).</param>
/// <param name="LinkLayer">"Ethernet" (RoCE) or "InfiniBand".</param>
/// <param name="Counters">PMA counters by file name, in their units except <c>port_rcv_data</c>/<c>port_xmit_data</c>,
/// which the kernel counts in 4-octet words and are returned here in bytes.</param>
/// <param name="HwCounters">Driver counters (<c>hw_counters/</c>) by file name.</param>
public sealed record RdmaPort(
    string Device,
    int Port,
    int? State,
    int? PhysicalState,
    double? RateBytesPerSecond,
    string? LinkLayer,
    IReadOnlyDictionary<string, ulong> Counters,
    IReadOnlyDictionary<string, ulong> HwCounters);

/// <summary>Reads every RDMA port's state and counters. Files the driver refuses to read (EINVAL, EOPNOTSUPP) are
/// skipped, as node_exporter does.</summary>
public static class RdmaPortReader
{
    /// <summary>Every port of every device under <c>/sys/class/infiniband</c>, by device then port.</summary>
    public static IReadOnlyList<RdmaPort> Read(HostRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var ports = new List<RdmaPort>();
        string classIb = Path.Join(roots.Sys, "class", "infiniband");
        foreach (string device in (SysfsFiles.List(classIb) ?? []).Order(StringComparer.Ordinal))
        {
            string portsDir = Path.Join(classIb, device, "ports");
            foreach (string p in SysfsFiles.List(portsDir) ?? [])
            {
                if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int port))
                {
                    continue;
                }

                string dir = Path.Join(portsDir, p);
                var counters = ReadCounters(Path.Join(dir, "counters"));
                foreach (string words in new[] { "port_rcv_data", "port_xmit_data" })
                {
                    if (counters.TryGetValue(words, out ulong value))
                    {
                        counters[words] = value * 4;
                    }
                }

                ports.Add(new RdmaPort(device, port, Leading(SysfsFiles.ReadText(Path.Join(dir, "state"))),
                    Leading(SysfsFiles.ReadText(Path.Join(dir, "phys_state"))), Rate(SysfsFiles.ReadText(Path.Join(dir, "rate"))),
                    SysfsFiles.ReadText(Path.Join(dir, "link_layer"))?.Trim(), counters, ReadCounters(Path.Join(dir, "hw_counters"))));
            }
        }

        return ports.OrderBy(p => p.Device, StringComparer.Ordinal).ThenBy(p => p.Port).ToList();
    }

    private static Dictionary<string, ulong> ReadCounters(string dir)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string name in SysfsFiles.List(dir) ?? [])
        {
            if (SysfsFiles.ReadText(Path.Join(dir, name)) is string text
                && ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            {
                values[name] = value;
            }
        }

        return values;
    }

    /// <summary>"4: ACTIVE" → 4.</summary>
    private static int? Leading(string? text)
    {
        if (text is null)
        {
            return null;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        return int.TryParse(colon > 0 ? text[..colon] : text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }

    /// <summary>"400 Gb/sec (4X NDR)" → 5e10 bytes/s (Gb/s × 125,000,000, as node_exporter computes it).</summary>
    private static double? Rate(string? text)
    {
        if (text is null)
        {
            return null;
        }

        int space = text.IndexOf(' ', StringComparison.Ordinal);
        return double.TryParse(space > 0 ? text[..space] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double gbps)
            ? gbps * 125_000_000
            : null;
    }
}
