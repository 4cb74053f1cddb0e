using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>Where a PCI function hangs in the PCI tree: its host bridge and the bridges below it, read from the resolved
/// path of <c>/sys/bus/pci/devices/&lt;bdf&gt;</c> (a link into <c>/sys/devices/pci&lt;domain&gt;:&lt;bus&gt;/…/&lt;bdf&gt;</c>).</summary>
/// <param name="HostBridge">The host bridge, as sysfs names it (<c>pci0000:15</c>).</param>
/// <param name="Path">PCI functions from the root port down to the device itself (the last element).</param>
/// <param name="NumaNode">The device's <c>numa_node</c>; null when the kernel reports -1 or the file is missing.</param>
/// <param name="LocalCpus">The device's <c>local_cpulist</c>; null when missing or unreadable.</param>
/// <param name="DevicePath">The device's canonical sysfs directory.</param>
public sealed record PciChain(string HostBridge, IReadOnlyList<PciAddress> Path, int? NumaNode, CpuSet? LocalCpus, string DevicePath)
{
    /// <summary>The device at the end of the chain.</summary>
    public PciAddress Device => Path[^1];

    /// <summary>Reads the chain of <paramref name="device"/>, or null when sysfs does not list it.</summary>
    public static PciChain? Read(HostRoots roots, PciAddress device)
    {
        ArgumentNullException.ThrowIfNull(roots);
        string? real = SysfsFiles.RealPath(System.IO.Path.Join(roots.Sys, "bus", "pci", "devices", device.ToString()));
        return real is null ? null : FromDevicePath(real);
    }

    /// <summary>Builds the chain from a canonical device directory (<c>…/devices/pci0000:15/0000:15:01.0/…/0000:18:00.0</c>);
    /// null when the path does not end in a PCI function below a host bridge.</summary>
    public static PciChain? FromDevicePath(string devicePath)
    {
        ArgumentNullException.ThrowIfNull(devicePath);
        var parts = devicePath.Split('/', StringSplitOptions.RemoveEmptyEntries);

        // The host bridge is the last "pciDDDD:BB" component; anything above it (platform or ACPI nodes) is not PCI.
        int host = Array.FindLastIndex(parts, p => p.StartsWith("pci", StringComparison.Ordinal) && p.Contains(':', StringComparison.Ordinal));
        if (host < 0 || host == parts.Length - 1)
        {
            return null;
        }

        var chain = new List<PciAddress>();
        for (int i = host + 1; i < parts.Length; i++)
        {
            if (!PciAddress.TryParse(parts[i], out var address))
            {
                return null;
            }

            chain.Add(address);
        }

        long? numa = SysfsFiles.ReadLong(System.IO.Path.Join(devicePath, "numa_node"));
        string? cpus = SysfsFiles.ReadText(System.IO.Path.Join(devicePath, "local_cpulist"));
        return new PciChain(parts[host], chain, numa is >= 0 ? (int)numa : null, CpuSet.TryParseList(cpus), devicePath);
    }
}
