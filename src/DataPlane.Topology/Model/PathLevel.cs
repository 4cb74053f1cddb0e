namespace DataPlane.Topology.Model;

/// <summary>How far apart two PCI devices are, in the vocabulary of <c>nvidia-smi topo -m</c> and NCCL.
/// The numeric values are NVML's <c>nvmlGpuTopologyLevel_t</c>, so NVML's common-ancestor answer casts directly.</summary>
public enum PathLevel
{
    /// <summary>X: the device itself (NVML_TOPOLOGY_INTERNAL).</summary>
    Self = 0,

    /// <summary>PIX: at most a single PCIe bridge (NVML_TOPOLOGY_SINGLE).</summary>
    Pix = 10,

    /// <summary>PXB: several PCIe bridges, without crossing the host bridge (NVML_TOPOLOGY_MULTIPLE).</summary>
    Pxb = 20,

    /// <summary>PHB: through a PCIe host bridge, typically the CPU (NVML_TOPOLOGY_HOSTBRIDGE).</summary>
    Phb = 30,

    /// <summary>NODE: between PCIe host bridges within one NUMA node (NVML_TOPOLOGY_NODE).</summary>
    Node = 40,

    /// <summary>SYS: across the SMP interconnect between NUMA nodes, e.g. UPI (NVML_TOPOLOGY_SYSTEM).</summary>
    Sys = 50,
}

/// <summary>Names of <see cref="PathLevel"/> as operators read them.</summary>
public static class PathLevels
{
    public static string Label(this PathLevel level) => level switch
    {
        PathLevel.Self => "X",
        PathLevel.Pix => "PIX",
        PathLevel.Pxb => "PXB",
        PathLevel.Phb => "PHB",
        PathLevel.Node => "NODE",
        _ => "SYS",
    };
}
