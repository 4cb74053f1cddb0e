namespace DataPlane.Topology.Model;

/// <summary>One GPU as NVML reports it.</summary>
/// <param name="Index">NVML index (the <c>gpu</c> label of dcgm-exporter).</param>
/// <param name="Name">Product name, e.g. "NVIDIA H100 80GB HBM3" (the <c>modelName</c> label).</param>
/// <param name="Uuid">"GPU-…" (the <c>UUID</c> label).</param>
/// <param name="Pci">Its PCI address, normalised to sysfs form.</param>
/// <param name="CpuAffinity">CPUs near the GPU (NVML CPU affinity within the NUMA node scope).</param>
/// <param name="NumaNode">NUMA node of the GPU's PCI attachment (NVML memory affinity or sysfs), null when unknown.</param>
/// <param name="Links">NVLinks that exist on the device (0 … NVML's link count − 1); empty without NVLink.</param>
/// <param name="NvSwitchLinks">Links attached to NVSwitches (field 147, or links whose remote is a switch);
/// greater than zero means all GPUs on the switch fabric reach each other.</param>
public sealed record GpuDevice(
    int Index,
    string Name,
    string Uuid,
    PciAddress Pci,
    CpuSet CpuAffinity,
    int? NumaNode,
    IReadOnlyList<NvLink> Links,
    int NvSwitchLinks)
{
    /// <summary>Active links only.</summary>
    public int ActiveLinks => Links.Count(l => l.Active);
}

/// <summary>The device at the far end of an NVLink (nvmlIntNvLinkDeviceType_t).</summary>
public enum NvLinkRemote
{
    Gpu = 0,
    IbmNpu = 1,
    Switch = 2,
    Unknown = 0xFF,
}

/// <summary>One NVLink of a GPU.</summary>
/// <param name="Link">Link index.</param>
/// <param name="Active">nvmlDeviceGetNvLinkState says enabled.</param>
/// <param name="Version">NVML's nvmlNvlinkVersion_t enum value (6 = NVLink 4.0), null when not supported.</param>
/// <param name="Remote">Remote device type.</param>
/// <param name="RemotePci">Remote PCI address (a peer GPU, or the switch), null when unknown.</param>
/// <param name="TxBytes">Cumulative data transmitted (NVML KiB counter × 1024), null when not supported.</param>
/// <param name="RxBytes">Cumulative data received, null when not supported.</param>
/// <param name="SpeedBytesPerSecond">Link speed per direction (NVML field 164, MBps × 10⁶; 0 on a link that is
/// down), null when not supported.</param>
public sealed record NvLink(
    int Link, bool Active, int? Version, NvLinkRemote Remote, PciAddress? RemotePci, ulong? TxBytes, ulong? RxBytes, ulong? SpeedBytesPerSecond = null)
{
    /// <summary>"4.0" for the enum value 6, and so on; null for unknown values.</summary>
    public string? Generation => Version switch
    {
        1 => "1.0",
        2 => "2.0",
        3 => "2.2",
        4 => "3.0",
        5 => "3.1",
        6 => "4.0",
        7 => "5.0",
        8 => "6.0",
        _ => null,
    };
}

/// <summary>What NVML says about every GPU on the host, or why it could not say anything.</summary>
/// <param name="Gpus">GPUs by index.</param>
/// <param name="PciLevels">GPU↔GPU PCIe path (nvmlDeviceGetTopologyCommonAncestor), keyed by (lower index, higher index).</param>
/// <param name="DriverVersion">Driver version, null when unknown.</param>
/// <param name="Problem">Why the GPU part is empty or partial (no driver, library missing, a device lost…), null when all went well.</param>
public sealed record GpuInventory(
    IReadOnlyList<GpuDevice> Gpus,
    IReadOnlyDictionary<(int, int), PathLevel> PciLevels,
    string? DriverVersion,
    string? Problem)
{
    public static GpuInventory Unavailable(string problem) => new([], new Dictionary<(int, int), PathLevel>(), null, problem);

    /// <summary>NVLinks joining GPUs a and b: on an NVSwitch fabric, the switch-attached link count of a (all-to-all,
    /// as DCGM and nvidia-smi count it); otherwise the active links of a whose remote is b.</summary>
    public int NvLinksBetween(int a, int b)
    {
        if (a == b)
        {
            return 0;
        }

        var ga = Gpus.FirstOrDefault(g => g.Index == a);
        var gb = Gpus.FirstOrDefault(g => g.Index == b);
        if (ga is null || gb is null)
        {
            return 0;
        }

        if (ga.NvSwitchLinks > 0 && gb.NvSwitchLinks > 0)
        {
            return ga.NvSwitchLinks;
        }

        return ga.Links.Count(l => l.Active && l.Remote == NvLinkRemote.Gpu && l.RemotePci == gb.Pci);
    }
}

/// <summary>Where GPU facts come from: NVML on a real host (or the fake NVML library in tests).</summary>
public interface IGpuSource
{
    GpuInventory Discover();
}
