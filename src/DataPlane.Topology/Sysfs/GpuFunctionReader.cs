using System.Globalization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>Reads the PCI functions of the host's NVIDIA GPUs from sysfs: the GPUs NVML reported, and every function
/// <c>/sys/bus/pci/devices</c> lists with NVIDIA's vendor id (0x10de) and a display-controller class (0x03xxxx), so a
/// host whose NVML cannot be loaded still has its GPUs' interrupts (NVSwitches are bridges, class 0x0680, and are
/// left out). A GPU's vectors are the entries of its <c>msi_irqs/</c>, named from <c>/proc/interrupts</c>.</summary>
public static class GpuFunctionReader
{
    private const string NvidiaVendor = "0x10de";

    /// <summary>Every GPU function, sorted by PCI address. Missing attributes become <paramref name="problems"/> and
    /// neutral values; a GPU that NVML reported but sysfs does not list is left out (discovery reports it already).</summary>
    /// <param name="roots">Where sysfs is.</param>
    /// <param name="inventory">NVML's GPUs (their index and NUMA node).</param>
    /// <param name="interrupts">The IRQ names of <c>/proc/interrupts</c>, or null when it could not be read.</param>
    /// <param name="numaNodes">The host's NUMA nodes, to stand in for a missing <c>local_cpulist</c>.</param>
    /// <param name="problems">Receives what could not be read.</param>
    public static IReadOnlyList<GpuFunction> Read(HostRoots roots, GpuInventory inventory, InterruptTable? interrupts,
        IReadOnlyList<NumaNode> numaNodes, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(numaNodes);
        ArgumentNullException.ThrowIfNull(problems);
        string devices = Path.Join(roots.Sys, "bus", "pci", "devices");
        var addresses = new SortedSet<PciAddress>(inventory.Gpus.Select(g => g.Pci));
        foreach (string name in SysfsFiles.List(devices) ?? [])
        {
            if (PciAddress.TryParse(name, out var pci)
                && string.Equals(SysfsFiles.ReadText(Path.Join(devices, name, "vendor")), NvidiaVendor, StringComparison.OrdinalIgnoreCase)
                && SysfsFiles.ReadText(Path.Join(devices, name, "class")) is string cls && cls.StartsWith("0x03", StringComparison.OrdinalIgnoreCase))
            {
                addresses.Add(pci);
            }
        }

        var result = new List<GpuFunction>();
        foreach (var pci in addresses)
        {
            var chain = PciChain.Read(roots, pci);
            if (chain is null)
            {
                continue;
            }

            var nvml = inventory.Gpus.FirstOrDefault(g => g.Pci == pci);
            string label = nvml is null ? pci.ToString() : $"GPU{nvml.Index.ToString(CultureInfo.InvariantCulture)} ({pci})";
            int? node = chain.NumaNode ?? nvml?.NumaNode;
            var localCpus = chain.LocalCpus;
            if (localCpus is null)
            {
                problems.Add($"{label}: local_cpulist is unreadable");
                localCpus = numaNodes.FirstOrDefault(n => n.Id == node)?.Cpus ?? CpuSet.Empty;
            }

            string driver = SysfsFiles.LinkName(Path.Join(chain.DevicePath, "driver")) ?? "";
            var irqs = new List<GpuIrq>();
            var msi = SysfsFiles.List(Path.Join(chain.DevicePath, "msi_irqs"));
            if (msi is null)
            {
                if (driver.Length > 0)
                {
                    problems.Add($"{label}: no msi_irqs (the {driver} driver uses a legacy interrupt, or none): its interrupts are not known");
                }
            }
            else
            {
                foreach (int irq in msi.Select(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1).Where(n => n >= 0).Order())
                {
                    irqs.Add(new GpuIrq(irq, interrupts?.NameOf(irq) ?? ""));
                }
            }

            result.Add(new GpuFunction(pci, nvml?.Index, node, localCpus, driver, irqs));
        }

        return result;
    }
}
