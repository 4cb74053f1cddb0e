using System.Text.Json.Serialization;

namespace DataPlane.Topology.Matrix;

/// <summary>The JSON form of a discovered host (snake_case names, fixed here so renaming a C# member never changes the document).</summary>
/// <param name="DriverVersion">NVIDIA driver version, null when unknown.</param>
/// <param name="OnlineCpus">Online CPUs as a cpulist.</param>
/// <param name="NumaNodes">NUMA nodes.</param>
/// <param name="Gpus">GPUs by index.</param>
/// <param name="Nics">NICs in matrix order (<c>NIC0</c> first).</param>
/// <param name="Matrix">The matrix as cells.</param>
/// <param name="NearestNics">The nearest NIC for each GPU.</param>
/// <param name="Problems">What could not be read.</param>
public sealed record TopologyReport(
    [property: JsonPropertyName("driver_version")] string? DriverVersion,
    [property: JsonPropertyName("online_cpus")] string OnlineCpus,
    [property: JsonPropertyName("numa_nodes")] IReadOnlyList<NumaNodeReport> NumaNodes,
    [property: JsonPropertyName("gpus")] IReadOnlyList<GpuReport> Gpus,
    [property: JsonPropertyName("nics")] IReadOnlyList<NicReport> Nics,
    [property: JsonPropertyName("matrix")] MatrixReport Matrix,
    [property: JsonPropertyName("nearest_nics")] IReadOnlyList<NearestNicReport> NearestNics,
    [property: JsonPropertyName("problems")] IReadOnlyList<string> Problems);

/// <summary>A NUMA node.</summary>
/// <param name="Id">Node id.</param>
/// <param name="Cpus">Its CPUs as a cpulist.</param>
public sealed record NumaNodeReport(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("cpus")] string Cpus);

/// <summary>A GPU.</summary>
/// <param name="Index">NVML index.</param>
/// <param name="Name">Product name.</param>
/// <param name="Uuid">"GPU-…".</param>
/// <param name="PciBusId">PCI address in sysfs form.</param>
/// <param name="CpuAffinity">Near CPUs as a cpulist (empty when unknown).</param>
/// <param name="NumaNode">NUMA node, null when unknown.</param>
/// <param name="NvSwitchLinks">Links attached to NVSwitches.</param>
/// <param name="Links">Its NVLinks.</param>
public sealed record GpuReport(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("uuid")] string Uuid,
    [property: JsonPropertyName("pci_bus_id")] string PciBusId,
    [property: JsonPropertyName("cpu_affinity")] string CpuAffinity,
    [property: JsonPropertyName("numa_node")] int? NumaNode,
    [property: JsonPropertyName("nvswitch_links")] int NvSwitchLinks,
    [property: JsonPropertyName("links")] IReadOnlyList<NvLinkReport> Links);

/// <summary>One NVLink.</summary>
/// <param name="Link">Link index.</param>
/// <param name="State">"active" or "inactive".</param>
/// <param name="Generation">"4.0" and so on, null when unknown.</param>
/// <param name="Remote">"gpu", "switch", "ibm_npu" or "unknown".</param>
/// <param name="RemotePciBusId">The far end's PCI address, null when unknown.</param>
/// <param name="TxBytes">Bytes transmitted so far, null when not supported.</param>
/// <param name="RxBytes">Bytes received so far, null when not supported.</param>
/// <param name="SpeedBytesPerSecond">Link speed per direction, null when not supported.</param>
public sealed record NvLinkReport(
    [property: JsonPropertyName("link")] int Link,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("generation")] string? Generation,
    [property: JsonPropertyName("remote")] string Remote,
    [property: JsonPropertyName("remote_pci_bus_id")] string? RemotePciBusId,
    [property: JsonPropertyName("tx_bytes")] ulong? TxBytes,
    [property: JsonPropertyName("rx_bytes")] ulong? RxBytes,
    [property: JsonPropertyName("speed_bytes_per_second")] ulong? SpeedBytesPerSecond);

/// <summary>A NIC.</summary>
/// <param name="Name">Interface name.</param>
/// <param name="Pci">PCI address.</param>
/// <param name="NumaNode">NUMA node, null when the kernel does not know.</param>
/// <param name="LocalCpus">Local CPUs as a cpulist.</param>
/// <param name="Driver">Kernel driver ("" when none is bound).</param>
/// <param name="SpeedMbps">Link speed in Mb/s, null when down or unknown.</param>
/// <param name="Rdma">RDMA device, null when none.</param>
/// <param name="Irqs">Interrupt vectors.</param>
public sealed record NicReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("pci")] string Pci,
    [property: JsonPropertyName("numa_node")] int? NumaNode,
    [property: JsonPropertyName("local_cpus")] string LocalCpus,
    [property: JsonPropertyName("driver")] string Driver,
    [property: JsonPropertyName("speed_mbps")] long? SpeedMbps,
    [property: JsonPropertyName("rdma")] string? Rdma,
    [property: JsonPropertyName("irqs")] IReadOnlyList<IrqReport> Irqs);

/// <summary>One interrupt vector.</summary>
/// <param name="Irq">IRQ number.</param>
/// <param name="Name">Name in /proc/interrupts.</param>
/// <param name="Queue">Queue number, null when none.</param>
/// <param name="Control">A control (async) vector.</param>
public sealed record IrqReport(
    [property: JsonPropertyName("irq")] int Irq,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("queue")] int? Queue,
    [property: JsonPropertyName("control")] bool Control);

/// <summary>The matrix: column names, then one row per device with a cell per column.</summary>
/// <param name="Columns">"GPU0"…, then "NIC0"….</param>
/// <param name="Rows">Rows in the same order as the columns.</param>
public sealed record MatrixReport(
    [property: JsonPropertyName("columns")] IReadOnlyList<string> Columns,
    [property: JsonPropertyName("rows")] IReadOnlyList<MatrixRowReport> Rows);

/// <summary>One matrix row.</summary>
/// <param name="Device">"GPU0" or "NIC0".</param>
/// <param name="Cells">"X", "NV18", "PXB"…, one per column.</param>
/// <param name="CpuAffinity">GPU rows: near CPUs; null on NIC rows.</param>
/// <param name="NumaAffinity">GPU rows: NUMA node or "N/A"; null on NIC rows.</param>
/// <param name="GpuNumaId">GPU rows: the GPU memory's own NUMA node or "N/A"; null on NIC rows.</param>
public sealed record MatrixRowReport(
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("cells")] IReadOnlyList<string> Cells,
    [property: JsonPropertyName("cpu_affinity")] string? CpuAffinity,
    [property: JsonPropertyName("numa_affinity")] string? NumaAffinity,
    [property: JsonPropertyName("gpu_numa_id")] string? GpuNumaId);

/// <summary>The nearest NIC of one GPU.</summary>
/// <param name="Gpu">GPU index.</param>
/// <param name="Nic">NIC display name (RDMA device or interface).</param>
/// <param name="NetDevice">Interface name.</param>
/// <param name="Level">"PIX", "PXB", "PHB", "NODE" or "SYS".</param>
/// <param name="NumaLocal">Same NUMA node as the GPU.</param>
public sealed record NearestNicReport(
    [property: JsonPropertyName("gpu")] int Gpu,
    [property: JsonPropertyName("nic")] string Nic,
    [property: JsonPropertyName("netdev")] string NetDevice,
    [property: JsonPropertyName("level")] string Level,
    [property: JsonPropertyName("numa_local")] bool NumaLocal);
