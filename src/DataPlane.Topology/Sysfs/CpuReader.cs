using System.Globalization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>Reads CPUs and NUMA nodes from <c>/sys/devices/system</c>.</summary>
public static class CpuReader
{
    /// <summary>NUMA nodes from <c>/sys/devices/system/node/node&lt;N&gt;/cpulist</c>, by id.</summary>
    public static IReadOnlyList<NumaNode> ReadNumaNodes(HostRoots roots, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(problems);
        string dir = Path.Join(roots.Sys, "devices", "system", "node");
        var entries = SysfsFiles.List(dir);
        if (entries is null)
        {
            problems.Add($"cannot list {dir}: NUMA nodes unknown");
            return [];
        }

        var nodes = new List<NumaNode>();
        foreach (string entry in entries)
        {
            if (!entry.StartsWith("node", StringComparison.Ordinal)
                || !int.TryParse(entry.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                continue;
            }

            var cpus = CpuSet.TryParseList(SysfsFiles.ReadText(Path.Join(dir, entry, "cpulist")));
            if (cpus is null)
            {
                problems.Add($"NUMA node {id}: cpulist is unreadable");
                continue;
            }

            nodes.Add(new NumaNode(id, cpus));
        }

        return [.. nodes.OrderBy(n => n.Id)];
    }

    /// <summary>Online CPUs from <c>/sys/devices/system/cpu/online</c>; when unreadable, the CPUs of
    /// <paramref name="numaNodes"/> and a problem.</summary>
    public static CpuSet ReadOnline(HostRoots roots, IReadOnlyList<NumaNode> numaNodes, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(numaNodes);
        ArgumentNullException.ThrowIfNull(problems);
        string path = Path.Join(roots.Sys, "devices", "system", "cpu", "online");
        var online = CpuSet.TryParseList(SysfsFiles.ReadText(path));
        if (online is not null)
        {
            return online;
        }

        problems.Add($"{path} is unreadable: online CPUs taken from the NUMA nodes");
        return numaNodes.Aggregate(CpuSet.Empty, (all, n) => all.Union(n.Cpus));
    }
}
