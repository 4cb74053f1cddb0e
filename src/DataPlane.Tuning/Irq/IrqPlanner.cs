using DataPlane.Topology.Model;

namespace DataPlane.Tuning.Irq;

/// <summary>The CPU one interrupt should run on.</summary>
/// <param name="Device">The netdev of a NIC queue vector, or the GPU ("GPU0", or its PCI address without NVML).</param>
/// <param name="Irq">IRQ number.</param>
/// <param name="Queue">The NIC queue the vector serves; null for control-less NIC vectors and GPU vectors.</param>
/// <param name="Cpu">Where it should run.</param>
/// <param name="Label">How a plan describes the vector when <see cref="Device"/> and <see cref="Queue"/> do not say
/// enough (GPU vectors: "GPU0 (0000:18:00.0) nvidia vector 0"); null for NIC vectors.</param>
public sealed record IrqAssignment(string Device, int Irq, int? Queue, int Cpu, string? Label = null);

/// <summary>Spreads each NIC's queue interrupts, then each GPU's vectors, over the CPUs of the device's own NUMA node,
/// one IRQ per CPU in turn, leaving out the CPUs reserved for the daemon's hot threads. Devices on the same node continue
/// where the previous one stopped, so two ports do not stack their queue 0 on the same core and a GPU's vector lands on
/// a core after the node's NIC queues. NIC control vectors are never moved.</summary>
public static class IrqPlanner
{
    /// <summary>The NIC queue vectors' assignments (no GPUs).</summary>
    public static IReadOnlyList<IrqAssignment> Assign(HostTopology topology, IEnumerable<NicDevice> nics, CpuSet reserved) =>
        Assign(topology, nics, [], reserved);

    /// <summary>The NIC queue vectors' assignments, then the GPU vectors', sharing one round-robin cursor per set of
    /// candidate CPUs.</summary>
    public static IReadOnlyList<IrqAssignment> Assign(HostTopology topology, IEnumerable<NicDevice> nics, IEnumerable<GpuFunction> gpus, CpuSet reserved)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(nics);
        ArgumentNullException.ThrowIfNull(gpus);
        ArgumentNullException.ThrowIfNull(reserved);
        var cursor = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<IrqAssignment>();
        foreach (var nic in nics.OrderBy(n => n.Pci))
        {
            var candidates = CandidateCpus(topology, nic.LocalCpus, nic.NumaNode, reserved);
            if (candidates.IsEmpty)
            {
                continue;
            }

            string key = candidates.ToList();
            int next = cursor.GetValueOrDefault(key);
            foreach (var irq in nic.QueueIrqs.OrderBy(i => i.Queue ?? int.MaxValue).ThenBy(i => i.Irq))
            {
                result.Add(new IrqAssignment(nic.Name, irq.Irq, irq.Queue, candidates.Cpus[next % candidates.Count]));
                next++;
            }

            cursor[key] = next;
        }

        foreach (var gpu in gpus.OrderBy(g => g.Pci))
        {
            var candidates = CandidateCpus(topology, gpu.LocalCpus, gpu.NumaNode, reserved);
            if (candidates.IsEmpty)
            {
                continue;
            }

            string key = candidates.ToList();
            int next = cursor.GetValueOrDefault(key);
            var vectors = gpu.Irqs.OrderBy(i => i.Irq).ToList();
            for (int v = 0; v < vectors.Count; v++)
            {
                string name = vectors[v].Name.Length > 0 ? vectors[v].Name : "unnamed";
                string where = gpu.Index is null ? gpu.Label : $"{gpu.Label} ({gpu.Pci})";
                result.Add(new IrqAssignment(gpu.Label, vectors[v].Irq, null, candidates.Cpus[next % candidates.Count],
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{where} {name} vector {v}")));
                next++;
            }

            cursor[key] = next;
        }

        return result;
    }

    /// <summary>The NIC's local CPUs (local_cpulist, else its NUMA node's, else every online CPU), online ones only,
    /// minus the reserved CPUs — unless that leaves none, in which case the reserved ones are used rather than none.</summary>
    public static CpuSet CandidateCpus(HostTopology topology, NicDevice nic, CpuSet reserved)
    {
        ArgumentNullException.ThrowIfNull(nic);
        return CandidateCpus(topology, nic.LocalCpus, nic.NumaNode, reserved);
    }

    /// <summary>A device's local CPUs (<paramref name="localCpus"/>, else its NUMA node's, else every online CPU),
    /// online ones only, minus the reserved CPUs — unless that leaves none, in which case the reserved ones are used
    /// rather than none.</summary>
    public static CpuSet CandidateCpus(HostTopology topology, CpuSet localCpus, int? numaNode, CpuSet reserved)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(localCpus);
        ArgumentNullException.ThrowIfNull(reserved);
        var local = !localCpus.IsEmpty
            ? localCpus
            : topology.NumaNodes.FirstOrDefault(n => n.Id == numaNode)?.Cpus ?? topology.OnlineCpus;
        if (!topology.OnlineCpus.IsEmpty)
        {
            local = local.Intersect(topology.OnlineCpus);
        }

        var free = local.Except(reserved);
        return free.IsEmpty ? local : free;
    }
}
