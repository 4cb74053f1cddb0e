namespace DataPlane.Topology.Model;

/// <summary>Everything discovery found on a host, and the relations the matrix shows.</summary>
/// <param name="Gpus">NVML's view of the GPUs.</param>
/// <param name="Nics">Network interfaces on PCI functions, sorted by PCI address.</param>
/// <param name="NumaNodes">NUMA nodes with their CPUs.</param>
/// <param name="OnlineCpus">CPUs online (<c>/sys/devices/system/cpu/online</c>).</param>
/// <param name="GpuNic">PCIe path between GPU index and NIC name (from the sysfs bridge chain).</param>
/// <param name="NicNic">PCIe path between NICs, keyed by name pair (ordinal order).</param>
/// <param name="Problems">What could not be read, for the operator (not fatal).</param>
public sealed record HostTopology(
    GpuInventory Gpus,
    IReadOnlyList<NicDevice> Nics,
    IReadOnlyList<NumaNode> NumaNodes,
    CpuSet OnlineCpus,
    IReadOnlyDictionary<(int Gpu, string Nic), PathLevel> GpuNic,
    IReadOnlyDictionary<(string A, string B), PathLevel> NicNic,
    IReadOnlyList<string> Problems)
{
    /// <summary>The GPUs' PCI functions from sysfs (NVML's GPUs and any other NVIDIA display controller), with their
    /// NUMA placement and MSI/MSI-X vectors, sorted by PCI address; empty when none were found.</summary>
    public IReadOnlyList<GpuFunction> GpuFunctions { get; init; } = [];
}

/// <summary>Where to read the kernel's views from. Tests point these at fixture trees.</summary>
/// <param name="Sys">sysfs root, normally "/sys".</param>
/// <param name="Proc">procfs root, normally "/proc".</param>
/// <param name="Etc">configuration root, normally "/etc" (irqbalance's environment file lives there).</param>
public sealed record HostRoots(string Sys = "/sys", string Proc = "/proc", string Etc = "/etc")
{
    public static HostRoots Real { get; } = new();

    /// <summary>True when these are the running kernel's own trees (so writes change the host).</summary>
    public bool IsReal => Sys == "/sys" && Proc == "/proc";
}
