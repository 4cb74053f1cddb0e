using DataPlane.Topology.Model;

namespace DataPlane.Tuning.Irq;

/// <summary>The CPU one NIC queue interrupt should run on.</summary>
public sealed record IrqAssignment(string Nic, int Irq, int? Queue, int Cpu);

/// <summary>Spreads each NIC's queue interrupts over the CPUs of the NIC's own NUMA node, one IRQ per CPU in turn,
/// leaving out the CPUs reserved for the daemon's hot threads. NICs on the same node continue where the previous one
/// stopped, so two ports do not stack their queue 0 on the same core. Control vectors are never moved.</summary>
public static class IrqPlanner
{
    public static IReadOnlyList<IrqAssignment> Assign(HostTopology topology, IEnumerable<NicDevice> nics, CpuSet reserved)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(nics);
        ArgumentNullException.ThrowIfNull(reserved);
        var cursor = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<IrqAssignment>();
        foreach (var nic in nics.OrderBy(n => n.Pci))
        {
            var candidates = CandidateCpus(topology, nic, reserved);
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

        return result;
    }

    /// <summary>The NIC's local CPUs (local_cpulist, else its NUMA node's, else every online CPU), online ones only,
    /// minus the reserved CPUs — unless that leaves none, in which case the reserved ones are used rather than none.</summary>
    public static CpuSet CandidateCpus(HostTopology topology, NicDevice nic, CpuSet reserved)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(nic);
        var local = !nic.LocalCpus.IsEmpty
            ? nic.LocalCpus
            : topology.NumaNodes.FirstOrDefault(n => n.Id == nic.NumaNode)?.Cpus ?? topology.OnlineCpus;
        if (!topology.OnlineCpus.IsEmpty)
        {
            local = local.Intersect(topology.OnlineCpus);
        }

        var free = local.Except(reserved);
        return free.IsEmpty ? local : free;
    }
}
