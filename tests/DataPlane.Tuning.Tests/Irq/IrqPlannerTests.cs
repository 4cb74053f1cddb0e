using DataPlane.Testing;
using DataPlane.Topology;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Irq;

namespace DataPlane.Tuning.Tests.Irq;

public class IrqPlannerTests
{
    [Fact]
    public void Queue_irqs_go_to_numa_local_cpus_outside_the_reserved_ones_spread_across_nics_of_a_node()
    {
        using var host = HostFixture.Create("dgx-h100");
        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);
        var mlx = topology.Nics.Where(n => n.RdmaDevice is not null).ToList();
        var reserved = CpuSet.Of([1, 2]);

        var assignments = IrqPlanner.Assign(topology, mlx, reserved);

        Assert.Equal(8 * 16, assignments.Count); // 16 completion vectors per NIC; the async vectors stay put
        Assert.DoesNotContain(assignments, a => mlx.Any(n => n.Irqs.Any(i => i.Control && i.Irq == a.Irq)));
        foreach (var a in assignments)
        {
            var nic = mlx.Single(n => n.Name == a.Device);
            Assert.Contains(a.Cpu, nic.LocalCpus.Cpus);
            Assert.False(reserved.Contains(a.Cpu), $"IRQ {a.Irq} landed on reserved CPU {a.Cpu}");
        }

        // Four NICs per node share 110 free CPUs: 64 queue vectors, no two on one CPU.
        var node0 = assignments.Where(a => mlx.Single(n => n.Name == a.Device).NumaNode == 0).ToList();
        Assert.Equal(64, node0.Count);
        Assert.Equal(64, node0.Select(a => a.Cpu).Distinct().Count());
        // Queue 0 of the first NIC takes the first free CPU, queue 1 the next.
        var first = assignments.Where(a => a.Device == "enp25s0np0").OrderBy(a => a.Queue).ToList();
        Assert.Equal([0, 3, 4], first.Take(3).Select(a => a.Cpu));
    }

    [Fact]
    public void Without_free_local_cpus_the_reserved_ones_are_used_rather_than_none()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);
        var nic = Assert.Single(topology.Nics);

        var candidates = IrqPlanner.CandidateCpus(topology, nic, CpuSet.ParseList("0-23"));

        Assert.Equal("0-23", candidates.ToList());
    }
}
