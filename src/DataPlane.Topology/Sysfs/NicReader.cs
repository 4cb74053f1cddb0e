using System.Globalization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>A NIC as sysfs shows it, with its place in the PCI tree.</summary>
/// <param name="Device">What the rest of the code uses.</param>
/// <param name="Chain">Its PCI chain, for path levels.</param>
public sealed record SysfsNic(NicDevice Device, PciChain Chain);

/// <summary>Reads network interfaces backed by PCI functions from <c>/sys/class/net</c>.</summary>
public static class NicReader
{
    /// <summary>Every interface of <c>/sys/class/net</c> whose <c>device</c> link leads to a PCI function, sorted by PCI address
    /// then name. Virtual interfaces (lo, bridges, veths: no <c>device</c> link) and non-PCI devices are left out.
    /// Missing attributes become <paramref name="problems"/> and neutral values.</summary>
    /// <param name="roots">Where sysfs and procfs are.</param>
    /// <param name="interrupts">The IRQ names of <c>/proc/interrupts</c>, or null when it could not be read.</param>
    /// <param name="numaNodes">The host's NUMA nodes, to stand in for a missing <c>local_cpulist</c>.</param>
    /// <param name="problems">Receives what could not be read.</param>
    public static IReadOnlyList<SysfsNic> Read(HostRoots roots, InterruptTable? interrupts, IReadOnlyList<NumaNode> numaNodes, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(numaNodes);
        ArgumentNullException.ThrowIfNull(problems);
        string classNet = Path.Join(roots.Sys, "class", "net");
        var names = SysfsFiles.List(classNet);
        if (names is null)
        {
            problems.Add($"cannot list {classNet}: no NICs discovered");
            return [];
        }

        var rdma = RdmaDevices(roots);
        var nics = new List<SysfsNic>();
        foreach (string name in names)
        {
            var nic = ReadOne(roots, classNet, name, interrupts ?? InterruptTable.Empty, rdma, numaNodes, problems);
            if (nic is not null)
            {
                nics.Add(nic);
            }
        }

        return [.. nics.OrderBy(n => n.Device.Pci).ThenBy(n => n.Device.Name, StringComparer.Ordinal)];
    }

    private static SysfsNic? ReadOne(HostRoots roots, string classNet, string name, InterruptTable interrupts,
        IReadOnlyList<(string Name, string DevicePath)> rdma, IReadOnlyList<NumaNode> numaNodes, ICollection<string> problems)
    {
        string netDir = Path.Join(classNet, name);
        string deviceLink = Path.Join(netDir, "device");
        if (!Path.Exists(deviceLink) && new FileInfo(deviceLink).LinkTarget is null)
        {
            return null; // a virtual interface
        }

        string? devicePath = SysfsFiles.RealPath(deviceLink);
        if (devicePath is null)
        {
            problems.Add($"{name}: the device link does not resolve");
            return null;
        }

        // virtio-net hangs its netdev off a virtio device (…/0000:00:03.0/virtio2) whose parent is the PCI function:
        // the function has the PCI address, NUMA node and MSI vectors, the virtio device has the driver (virtio_net).
        string driverPath = devicePath;
        var chain = PciChain.FromDevicePath(devicePath);
        if (chain is null && Path.GetFileName(devicePath).StartsWith("virtio", StringComparison.Ordinal)
            && Path.GetDirectoryName(devicePath) is string function && PciChain.FromDevicePath(function) is { } functionChain)
        {
            chain = functionChain;
            devicePath = function;
        }

        if (chain is null)
        {
            return null; // not on PCI (USB, platform): no PCIe distance to speak of
        }

        string bdf = chain.Device.ToString();
        if (SysfsFiles.ReadText(Path.Join(devicePath, "numa_node")) is null)
        {
            problems.Add($"{name} ({bdf}): numa_node is unreadable");
        }

        var localCpus = chain.LocalCpus;
        if (localCpus is null)
        {
            problems.Add($"{name} ({bdf}): local_cpulist is unreadable");
            localCpus = numaNodes.FirstOrDefault(n => n.Id == chain.NumaNode)?.Cpus ?? CpuSet.Empty;
        }

        string? driver = SysfsFiles.LinkName(Path.Join(driverPath, "driver"));
        if (driver is null)
        {
            problems.Add($"{name} ({bdf}): no driver is bound");
        }

        // A down link reads -1 or refuses the read; either way there is no speed to report.
        long? speed = SysfsFiles.ReadLong(Path.Join(netDir, "speed")) is long s && s > 0 ? s : null;
        string? rdmaName = rdma.Where(r => string.Equals(r.DevicePath, devicePath, StringComparison.Ordinal)).Select(r => r.Name).FirstOrDefault()
            ?? SysfsFiles.List(Path.Join(devicePath, "infiniband"))?.FirstOrDefault();
        var irqs = ReadIrqs(devicePath, name, bdf, driver, interrupts, problems);
        var device = new NicDevice(name, chain.Device, chain.NumaNode, localCpus, driver ?? "", speed, rdmaName, irqs);
        return new SysfsNic(device, chain);
    }

    /// <summary>The function's vectors in the order mlnx-tools looks for them: the entries of <c>msi_irqs/</c> named from
    /// <c>/proc/interrupts</c>; without <c>msi_irqs/</c>, the <c>/proc/interrupts</c> lines that name the function's PCI
    /// address or the interface.</summary>
    private static List<NicIrq> ReadIrqs(string devicePath, string name, string bdf, string? driver, InterruptTable interrupts,
        ICollection<string> problems)
    {
        var irqs = new List<NicIrq>();
        var msi = SysfsFiles.List(Path.Join(devicePath, "msi_irqs"));
        if (msi is not null)
        {
            var numbers = msi.Select(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1)
                .Where(n => n >= 0).Order().ToList();
            for (int i = 0; i < numbers.Count; i++)
            {
                string irqName = interrupts.NameOf(numbers[i]) ?? "";
                var irq = InterruptTable.Describe(numbers[i], irqName, name);

                // mlx5's first vector is its async (control) vector even when /proc/interrupts does not name it.
                if (irqName.Length == 0 && i == 0 && driver is not null && driver.StartsWith("mlx5", StringComparison.Ordinal))
                {
                    irq = irq with { Control = true };
                }

                irqs.Add(irq);
            }

            return irqs;
        }

        string pciTag = "@pci:" + bdf;
        foreach (var (number, irqName) in interrupts.Names.OrderBy(p => p.Key))
        {
            if (irqName.Contains(pciTag, StringComparison.Ordinal) || string.Equals(irqName, name, StringComparison.Ordinal)
                || irqName.StartsWith(name + "-", StringComparison.Ordinal))
            {
                irqs.Add(InterruptTable.Describe(number, irqName, name));
            }
        }

        if (irqs.Count == 0)
        {
            problems.Add($"{name} ({bdf}): no interrupt vectors found (msi_irqs is unreadable and /proc/interrupts names none)");
        }

        return irqs;
    }

    /// <summary>Each RDMA device with the canonical path of its PCI function (<c>/sys/class/infiniband/&lt;dev&gt;/device</c>).</summary>
    private static List<(string Name, string DevicePath)> RdmaDevices(HostRoots roots)
    {
        string classIb = Path.Join(roots.Sys, "class", "infiniband");
        var result = new List<(string, string)>();
        foreach (string dev in SysfsFiles.List(classIb) ?? [])
        {
            if (SysfsFiles.RealPath(Path.Join(classIb, dev, "device")) is string path)
            {
                result.Add((dev, path));
            }
        }

        return result;
    }
}
