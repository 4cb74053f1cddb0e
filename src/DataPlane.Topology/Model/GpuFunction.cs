namespace DataPlane.Topology.Model;

/// <summary>A GPU's PCI function as sysfs shows it: where its interrupts come from and which CPUs are near it.</summary>
/// <param name="Pci">PCI address of the function.</param>
/// <param name="Index">NVML index when NVML reported this GPU; null when only sysfs lists it (no NVML on the host).</param>
/// <param name="NumaNode">sysfs <c>numa_node</c> (NVML's answer when sysfs says -1); null when unknown.</param>
/// <param name="LocalCpus">sysfs <c>local_cpulist</c>, else the NUMA node's CPUs; empty when neither is known.</param>
/// <param name="Driver">Kernel driver bound to the function ("nvidia"; "vfio-pci" when passed to a guest); empty when none.</param>
/// <param name="Irqs">The function's MSI/MSI-X vectors (<c>msi_irqs/</c>), named from <c>/proc/interrupts</c>.</param>
public sealed record GpuFunction(PciAddress Pci, int? Index, int? NumaNode, CpuSet LocalCpus, string Driver, IReadOnlyList<GpuIrq> Irqs)
{
    /// <summary>"GPU0" as <c>nvidia-smi topo -m</c> names it, or the PCI address for a GPU NVML did not report.</summary>
    public string Label => Index is int i ? "GPU" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) : Pci.ToString();
}

/// <summary>One interrupt vector of a GPU.</summary>
/// <param name="Irq">IRQ number (<c>/proc/irq/N</c>).</param>
/// <param name="Name">Its name in <c>/proc/interrupts</c> ("nvidia" for the NVIDIA driver's vectors); empty when it has none.</param>
public sealed record GpuIrq(int Irq, string Name);
