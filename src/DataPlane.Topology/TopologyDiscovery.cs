using DataPlane.Topology.Model;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology;

/// <summary>Puts a host together: GPUs from the GPU source (NVML), NICs, IRQs, NUMA nodes and PCIe distances from
/// sysfs and procfs. Reads only. What cannot be read is listed in <see cref="HostTopology.Problems"/>; discovery itself
/// does not fail for a missing file.</summary>
public static class TopologyDiscovery
{
    /// <summary>Discovers the host under <paramref name="roots"/>. NICs are keyed by interface name in
    /// <see cref="HostTopology.GpuNic"/> and <see cref="HostTopology.NicNic"/>; GPU pairs NVML gave no PCIe level for get
    /// the sysfs one; a GPU that sysfs does not list is a problem and SYS to every NIC.</summary>
    /// <param name="roots">sysfs and procfs roots (<see cref="HostRoots.Real"/> on a host, a fixture tree in tests).</param>
    /// <param name="gpus">Where GPU facts come from.</param>
    public static HostTopology Discover(HostRoots roots, IGpuSource gpus)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(gpus);
        var problems = new List<string>();
        var inventory = gpus.Discover();
        if (inventory.Problem is not null)
        {
            problems.Add($"GPUs: {inventory.Problem}");
        }

        var numaNodes = CpuReader.ReadNumaNodes(roots, problems);
        var online = CpuReader.ReadOnline(roots, numaNodes, problems);
        var interrupts = InterruptTable.Read(roots);
        if (interrupts is null)
        {
            problems.Add($"{Path.Join(roots.Proc, "interrupts")} is unreadable: IRQ names unknown");
        }

        var nics = NicReader.Read(roots, interrupts, numaNodes, problems);
        var gpuFunctions = GpuFunctionReader.Read(roots, inventory, interrupts, numaNodes, problems);
        bool singleNode = numaNodes.Count <= 1;

        var gpuChains = new Dictionary<int, PciChain>();
        foreach (var gpu in inventory.Gpus)
        {
            var chain = PciChain.Read(roots, gpu.Pci);
            if (chain is null)
            {
                problems.Add($"GPU {gpu.Index} ({gpu.Pci}) is not in sysfs: its PCIe paths to NICs are shown as SYS");
                continue;
            }

            // NVML's NUMA answer stands in when sysfs has none, so NODE is still recognised.
            gpuChains[gpu.Index] = chain.NumaNode is null && gpu.NumaNode is not null ? chain with { NumaNode = gpu.NumaNode } : chain;
        }

        var gpuNic = new Dictionary<(int Gpu, string Nic), PathLevel>();
        foreach (var gpu in inventory.Gpus)
        {
            foreach (var nic in nics)
            {
                gpuNic[(gpu.Index, nic.Device.Name)] = gpuChains.TryGetValue(gpu.Index, out var chain)
                    ? PciPath.Classify(chain, nic.Chain, singleNode)
                    : PathLevel.Sys;
            }
        }

        var nicNic = new Dictionary<(string A, string B), PathLevel>();
        for (int i = 0; i < nics.Count; i++)
        {
            for (int j = i + 1; j < nics.Count; j++)
            {
                var (a, b) = string.CompareOrdinal(nics[i].Device.Name, nics[j].Device.Name) < 0 ? (nics[i], nics[j]) : (nics[j], nics[i]);
                nicNic[(a.Device.Name, b.Device.Name)] = PciPath.Classify(a.Chain, b.Chain, singleNode);
            }
        }

        return new HostTopology(
            CompleteGpuLevels(inventory, gpuChains, singleNode),
            [.. nics.Select(n => n.Device)],
            numaNodes,
            online,
            gpuNic,
            nicNic,
            problems)
        {
            GpuFunctions = gpuFunctions,
        };
    }

    /// <summary>GPU pairs NVML gave no PCIe level for get the sysfs answer, so the matrix has no holes.</summary>
    private static GpuInventory CompleteGpuLevels(GpuInventory inventory, Dictionary<int, PciChain> chains, bool singleNode)
    {
        Dictionary<(int, int), PathLevel>? levels = null;
        var gpus = inventory.Gpus;
        for (int i = 0; i < gpus.Count; i++)
        {
            for (int j = i + 1; j < gpus.Count; j++)
            {
                var key = (Math.Min(gpus[i].Index, gpus[j].Index), Math.Max(gpus[i].Index, gpus[j].Index));
                if (inventory.PciLevels.ContainsKey(key))
                {
                    continue;
                }

                levels ??= new Dictionary<(int, int), PathLevel>(inventory.PciLevels);
                levels[key] = chains.TryGetValue(key.Item1, out var a) && chains.TryGetValue(key.Item2, out var b)
                    ? PciPath.Classify(a, b, singleNode)
                    : PathLevel.Sys;
            }
        }

        return levels is null ? inventory : inventory with { PciLevels = levels };
    }
}
