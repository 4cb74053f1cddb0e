using DataPlane.Topology.Model;
using DataPlane.Transfer.Rdma;

namespace DataPlane.Spillover;

/// <summary>Chooses the RDMA device for the transfer engine from the host's topology: the RDMA NIC closest to the GPU
/// that Triton's work runs on (by PCIe path, then NUMA node), so spilled batches do not cross the socket
/// interconnect on their way between NIC and GPU memory. An explicitly configured device always wins.</summary>
internal static class RdmaPlacement
{
    /// <summary><paramref name="options"/> with the device set to the RDMA NIC nearest <paramref name="gpu"/>, and why;
    /// unchanged (reason null) when a device is configured, <paramref name="gpu"/> is negative, or the topology has no
    /// such GPU or no RDMA NIC.</summary>
    public static (RdmaOptions Options, string? Reason) NearGpu(RdmaOptions options, HostTopology? topology, int gpu)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Device is not null || gpu < 0 || topology?.Gpus.Gpus.FirstOrDefault(g => g.Index == gpu) is not { } device)
        {
            return (options, null);
        }

        var best = topology.Nics
            .Where(n => n.RdmaDevice is not null)
            .Select(n => (Nic: n, Level: topology.GpuNic.TryGetValue((gpu, n.Name), out var level) ? level : PathLevel.Sys,
                Local: n.NumaNode is not null && n.NumaNode == device.NumaNode))
            .OrderBy(c => c.Level)
            .ThenBy(c => c.Local ? 0 : 1)
            .ThenBy(c => c.Nic.Pci)
            .FirstOrDefault();
        return best.Nic is null
            ? (options, null)
            : (options with { Device = best.Nic.RdmaDevice }, $"{best.Nic.RdmaDevice} ({best.Nic.Name}) is nearest GPU{gpu}: {best.Level.Label()}{(best.Local ? ", same NUMA node" : "")}");
    }
}
