namespace DataPlane.Topology.Model;

/// <summary>A network interface backed by a PCI function, as sysfs describes it.</summary>
/// <param name="Name">Netdev name, e.g. "ens1f0np0".</param>
/// <param name="Pci">PCI address of the function.</param>
/// <param name="NumaNode">sysfs <c>numa_node</c>; null when the kernel reports -1.</param>
/// <param name="LocalCpus">sysfs <c>local_cpulist</c>.</param>
/// <param name="Driver">Kernel driver, e.g. "mlx5_core".</param>
/// <param name="SpeedMbps">Link speed in Mb/s; null when the link is down or the speed is unknown.</param>
/// <param name="RdmaDevice">The RDMA device on the same function, e.g. "mlx5_0", or null.</param>
/// <param name="Irqs">The interface's interrupt vectors, data queues and control vectors alike.</param>
public sealed record NicDevice(
    string Name,
    PciAddress Pci,
    int? NumaNode,
    CpuSet LocalCpus,
    string Driver,
    long? SpeedMbps,
    string? RdmaDevice,
    IReadOnlyList<NicIrq> Irqs)
{
    /// <summary>The name operators see in the matrix legend: the RDMA device when there is one (as nvidia-smi does), else the netdev.</summary>
    public string DisplayName => RdmaDevice ?? Name;

    /// <summary>Queue (completion) vectors only: what IRQ pinning moves.</summary>
    public IEnumerable<NicIrq> QueueIrqs => Irqs.Where(i => !i.Control);
}

/// <summary>One interrupt vector of a NIC.</summary>
/// <param name="Irq">IRQ number (<c>/proc/irq/N</c>).</param>
/// <param name="Name">Its name in <c>/proc/interrupts</c>, e.g. "mlx5_comp3@pci:0000:18:00.0"; empty when it has none.</param>
/// <param name="Queue">The queue number parsed from the name (3 above), or null.</param>
/// <param name="Control">An async/control vector (e.g. "mlx5_async0@pci:…"), never pinned.</param>
public sealed record NicIrq(int Irq, string Name, int? Queue, bool Control);

/// <summary>A NUMA node and its CPUs (<c>/sys/devices/system/node/nodeN/cpulist</c>).</summary>
public sealed record NumaNode(int Id, CpuSet Cpus);
