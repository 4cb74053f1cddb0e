using DataPlane.Testing;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Sysfs;

public class MissingPiecesTests
{
    private static readonly PciAddress Mlx50 = PciAddress.Parse("0000:19:00.0");
    private static readonly PciAddress Mlx51 = PciAddress.Parse("0000:2b:00.0");
    private static readonly PciAddress Mlx52 = PciAddress.Parse("0000:3b:00.0");
    private static readonly PciAddress Mlx53 = PciAddress.Parse("0000:5e:00.0");

    [Fact]
    public void Deleted_files_become_problems_not_exceptions()
    {
        using var host = HostFixture.Create("dgx-h100");
        File.Delete(Path.Combine(host.DevicePath(Mlx50), "numa_node"));
        File.Delete(Path.Combine(host.DevicePath(Mlx51), "local_cpulist"));
        Directory.Delete(Path.Combine(host.DevicePath(Mlx52), "msi_irqs"), recursive: true);
        File.Delete(Path.Combine(host.DevicePath(Mlx53), "driver"));
        File.Delete(host.Proc("interrupts"));
        File.Delete(host.Sys("devices/system/cpu/online"));
        File.Delete(host.Sys("bus/pci/devices/0000:5d:00.0")); // GPU3
        File.Delete(host.Sys("class/net/eno1/speed"));

        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        Assert.Contains(topology.Problems, p => p.Contains("enp25s0np0", StringComparison.Ordinal) && p.Contains("numa_node", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("enp43s0np0", StringComparison.Ordinal) && p.Contains("local_cpulist", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("enp59s0np0", StringComparison.Ordinal) && p.Contains("interrupt", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("enp94s0np0", StringComparison.Ordinal) && p.Contains("driver", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("interrupts is unreadable", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("cpu/online", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("GPU 3 (0000:5d:00.0)", StringComparison.Ordinal));

        Assert.Equal(9, topology.Nics.Count);
        var nics = topology.Nics.ToDictionary(n => n.Name);
        Assert.Null(nics["enp25s0np0"].NumaNode);
        // A missing local_cpulist is stood in for by the NUMA node's CPUs.
        Assert.Equal("0-55,112-167", nics["enp43s0np0"].LocalCpus.ToList());
        Assert.Empty(nics["enp59s0np0"].Irqs);
        Assert.Equal("", nics["enp94s0np0"].Driver);
        Assert.Null(nics["eno1"].SpeedMbps);
        // Without /proc/interrupts the vectors are still there, unnamed; mlx5's first one is still the control vector.
        Assert.Equal(16, nics["enp25s0np0"].QueueIrqs.Count());
        Assert.True(nics["enp25s0np0"].Irqs[0].Control);
        Assert.All(nics["enp25s0np0"].Irqs, i => Assert.Equal("", i.Name));
        // Online CPUs fall back to the NUMA nodes.
        Assert.Equal("0-223", topology.OnlineCpus.ToList());
        // A GPU missing from sysfs is SYS to every NIC.
        Assert.All(topology.Nics, n => Assert.Equal(PathLevel.Sys, topology.GpuNic[(3, n.Name)]));

        string text = TopologyMatrix.Render(topology);
        Assert.Contains("GPU 3 (0000:5d:00.0) is not in sysfs", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_msi_irqs_the_vectors_come_from_proc_interrupts()
    {
        using var host = HostFixture.Create("dgx-h100");
        Directory.Delete(Path.Combine(host.DevicePath(Mlx50), "msi_irqs"), recursive: true);
        Directory.Delete(host.Sys("class/net/eno1/device/msi_irqs"), recursive: true);

        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        Assert.Empty(topology.Problems);
        var mlx = topology.Nics.Single(n => n.Name == "enp25s0np0");
        Assert.Equal(Enumerable.Range(100, 17), mlx.Irqs.Select(i => i.Irq));
        Assert.Equal(Enumerable.Range(101, 16), mlx.QueueIrqs.Select(i => i.Irq));
        var eno1 = topology.Nics.Single(n => n.Name == "eno1");
        Assert.Equal(Enumerable.Range(60, 5), eno1.Irqs.Select(i => i.Irq));
        Assert.Equal([61, 62, 63, 64], eno1.QueueIrqs.Select(i => i.Irq));
    }

    [Fact]
    public void Without_class_infiniband_the_rdma_device_comes_from_the_function()
    {
        using var host = HostFixture.Create("pcie-4gpu");
        Directory.Delete(host.Sys("class/infiniband"), recursive: true);

        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        Assert.Equal(["mlx5_0", "mlx5_1", "mlx5_2"], topology.Nics.Select(n => n.RdmaDevice));
    }

    [Fact]
    public void An_unknown_numa_node_reads_as_null_and_down_links_have_no_speed()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        File.WriteAllText(host.Sys("class/net/enp2s0f0np0/device/numa_node"), "-1\n");
        File.WriteAllText(host.Sys("class/net/enp2s0f0np0/speed"), "-1\n");

        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        var nic = Assert.Single(topology.Nics);
        Assert.Null(nic.NumaNode);
        Assert.Null(nic.SpeedMbps);
        Assert.Empty(topology.Problems);
        // Different host bridge and an unknown node on a two-node host: nothing says it is the same node.
        Assert.Equal(PathLevel.Sys, topology.GpuNic[(1, nic.Name)]);
    }

    [Fact]
    public void A_host_without_class_net_or_numa_nodes_still_discovers_gpus()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        Directory.Delete(host.Sys("class/net"), recursive: true);
        Directory.Delete(host.Sys("devices/system/node"), recursive: true);

        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        Assert.Empty(topology.Nics);
        Assert.Empty(topology.NumaNodes);
        Assert.Equal(2, topology.Gpus.Gpus.Count);
        Assert.Contains(topology.Problems, p => p.Contains("class/net", StringComparison.Ordinal));
        Assert.Contains(topology.Problems, p => p.Contains("NUMA nodes unknown", StringComparison.Ordinal));
        Assert.Contains("NV11", TopologyMatrix.Render(topology), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_roots_give_problems_and_an_empty_host()
    {
        string empty = Path.Combine(Path.GetTempPath(), "dataplane-empty-" + Guid.NewGuid().ToString("N"));
        var topology = TopologyDiscovery.Discover(new HostRoots(empty, empty), new DescribedGpuSource(GpuInventory.Unavailable("no driver")));

        Assert.Empty(topology.Nics);
        Assert.True(topology.Problems.Count >= 4);
    }
}
