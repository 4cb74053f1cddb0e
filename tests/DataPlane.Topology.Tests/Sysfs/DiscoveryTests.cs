using DataPlane.Testing;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Sysfs;

public class DiscoveryTests
{
    private static HostTopology Discover(HostFixture host) => TopologyDiscovery.Discover(host.Roots, host.GpuSource);

    private static NicDevice Nic(HostTopology topology, string rdmaOrName) =>
        topology.Nics.Single(n => n.RdmaDevice == rdmaOrName || n.Name == rdmaOrName);

    private static PathLevel Level(HostTopology topology, int gpu, string rdmaOrName) => topology.GpuNic[(gpu, Nic(topology, rdmaOrName).Name)];

    [Fact]
    public void Dgx_has_nine_pci_nics_and_no_virtual_ones()
    {
        using var host = HostFixture.Create("dgx-h100");

        var topology = Discover(host);

        Assert.Empty(topology.Problems);
        Assert.Equal(9, topology.Nics.Count);
        Assert.Contains(topology.Nics, n => n.Name == "eno1");
        Assert.DoesNotContain(topology.Nics, n => n.Name is "lo" or "docker0");
        Assert.Equal(topology.Nics.Select(n => n.Pci).Order(), topology.Nics.Select(n => n.Pci));
        Assert.Equal(8, topology.Gpus.Gpus.Count);
    }

    [Fact]
    public void Dgx_mlx5_0_has_its_attributes_and_sixteen_queue_vectors()
    {
        using var host = HostFixture.Create("dgx-h100");

        var nic = Nic(Discover(host), "mlx5_0");

        Assert.Equal("enp25s0np0", nic.Name);
        Assert.Equal(PciAddress.Parse("0000:19:00.0"), nic.Pci);
        Assert.Equal(0, nic.NumaNode);
        Assert.Equal("0-55,112-167", nic.LocalCpus.ToList());
        Assert.Equal("mlx5_core", nic.Driver);
        Assert.Equal(400_000, nic.SpeedMbps);
        Assert.Equal("mlx5_0", nic.DisplayName);
        Assert.Equal(17, nic.Irqs.Count);

        var control = nic.Irqs[0];
        Assert.Equal(100, control.Irq);
        Assert.True(control.Control);
        Assert.Equal("mlx5_async0@pci:0000:19:00.0", control.Name);
        Assert.Null(control.Queue);

        var queues = nic.QueueIrqs.ToList();
        Assert.Equal(Enumerable.Range(101, 16), queues.Select(q => q.Irq));
        Assert.Equal(Enumerable.Range(0, 16), queues.Select(q => q.Queue ?? -1));
        Assert.Equal("mlx5_comp15@pci:0000:19:00.0", queues[^1].Name);
    }

    [Fact]
    public void Dgx_management_nic_has_igb_vectors_and_no_rdma_device()
    {
        using var host = HostFixture.Create("dgx-h100");

        var nic = Nic(Discover(host), "eno1");

        Assert.Equal("igb", nic.Driver);
        Assert.Null(nic.RdmaDevice);
        Assert.Equal("eno1", nic.DisplayName);
        Assert.Equal(1000, nic.SpeedMbps);
        Assert.Equal(0, nic.NumaNode);
        Assert.Equal(new NicIrq(60, "eno1", null, true), nic.Irqs[0]);
        Assert.Equal([61, 62, 63, 64], nic.QueueIrqs.Select(i => i.Irq));
        Assert.Equal([0, 1, 2, 3], nic.QueueIrqs.Select(i => i.Queue ?? -1));
    }

    [Fact]
    public void Dgx_levels_follow_the_pci_tree()
    {
        using var host = HostFixture.Create("dgx-h100");

        var topology = Discover(host);

        // GPU0 (18:00.0) and mlx5_0 (19:00.0) sit on two downstream ports of one switch: 17:00.0 → 16:00.0 → 17:01.0.
        Assert.Equal(PathLevel.Pxb, Level(topology, 0, "mlx5_0"));
        // Other host bridge (pci0000:27), same socket.
        Assert.Equal(PathLevel.Node, Level(topology, 0, "mlx5_1"));
        // Other socket.
        Assert.Equal(PathLevel.Sys, Level(topology, 0, "mlx5_4"));
        // The onboard NIC hangs off pci0000:00 on socket 0.
        Assert.Equal(PathLevel.Node, Level(topology, 0, "eno1"));
        Assert.Equal(PathLevel.Sys, Level(topology, 7, "eno1"));
        for (int g = 0; g < 8; g++)
        {
            Assert.Equal(PathLevel.Pxb, Level(topology, g, $"mlx5_{g}"));
        }

        Assert.Equal(PathLevel.Node, topology.NicNic[("enp25s0np0", "enp43s0np0")]);
        Assert.Equal(PathLevel.Sys, topology.NicNic[("enp155s0np0", "enp25s0np0")]);
        Assert.Equal(9 * 8 / 2, topology.NicNic.Count);
    }

    [Fact]
    public void Pcie_4gpu_levels_follow_the_pci_tree()
    {
        using var host = HostFixture.Create("pcie-4gpu");

        var topology = Discover(host);

        Assert.Empty(topology.Problems);
        Assert.Equal(3, topology.Nics.Count);
        // GPU0 (43:00.0 below port 42:00.0) and mlx5_0 (45:00.0 below port 42:08.0) share the switch whose upstream port is
        // 41:00.0. The path crosses three bridges (42:00.0, 41:00.0, 42:08.0), so by the sysfs rule it is PXB, not PIX: PIX
        // needs both devices directly below one bridge. (The host file's "pcilevel 0 1 PIX" is NVML's answer for the GPU
        // pair, which the matrix prints as NVML gives it.)
        Assert.Equal(PathLevel.Pxb, Level(topology, 0, "mlx5_0"));
        Assert.Equal(PathLevel.Pxb, Level(topology, 1, "mlx5_1"));
        Assert.Equal(PathLevel.Sys, Level(topology, 0, "mlx5_2"));
        Assert.Equal(PathLevel.Pxb, Level(topology, 3, "mlx5_2"));
        // The two ports of one adapter are functions of one device below bridge 42:08.0: a single bridge, PIX.
        Assert.Equal(PathLevel.Pix, topology.NicNic[("enp69s0f0np0", "enp69s0f1np1")]);
        Assert.Equal(PathLevel.Sys, topology.NicNic[("enp197s0f0np0", "enp69s0f0np0")]);
        Assert.Equal(1, Nic(topology, "mlx5_2").NumaNode);
        Assert.Equal("16-31,48-63", Nic(topology, "mlx5_2").LocalCpus.ToList());
        Assert.Equal(PathLevel.Pix, topology.Gpus.PciLevels[(0, 1)]);
    }

    [Fact]
    public void Nvlink_bridge_levels_follow_the_pci_tree()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");

        var topology = Discover(host);

        Assert.Empty(topology.Problems);
        var nic = Assert.Single(topology.Nics);
        Assert.Equal("mlx5_0", nic.RdmaDevice);
        // GPU0 (root port 00:03.0) and the NIC (root port 00:02.0) meet only at host bridge pci0000:00.
        Assert.Equal(PathLevel.Phb, Level(topology, 0, "mlx5_0"));
        Assert.Equal(PathLevel.Sys, Level(topology, 1, "mlx5_0"));
        Assert.Equal(11, topology.Gpus.NvLinksBetween(0, 1));
    }

    [Fact]
    public void Numa_nodes_and_online_cpus_come_from_sysfs()
    {
        using var host = HostFixture.Create("dgx-h100");

        var topology = Discover(host);

        Assert.Equal("0-223", topology.OnlineCpus.ToList());
        Assert.Equal([0, 1], topology.NumaNodes.Select(n => n.Id));
        Assert.Equal("56-111,168-223", topology.NumaNodes[1].Cpus.ToList());
    }

    [Fact]
    public void Nvml_problems_are_carried_and_nics_are_still_found()
    {
        using var host = HostFixture.Create("dgx-h100");

        var topology = TopologyDiscovery.Discover(host.Roots, new DescribedGpuSource(GpuInventory.Unavailable("libnvidia-ml.so.1 not found")));

        Assert.Empty(topology.Gpus.Gpus);
        Assert.Equal(9, topology.Nics.Count);
        Assert.Equal(["GPUs: libnvidia-ml.so.1 not found"], topology.Problems);
        Assert.Empty(topology.GpuNic);
    }

    [Fact]
    public void Gpu_pairs_nvml_left_out_get_the_sysfs_level()
    {
        using var host = HostFixture.Create("pcie-4gpu");
        var inventory = host.Description.ToGpuInventory();
        var partial = inventory with { PciLevels = new Dictionary<(int, int), PathLevel> { [(0, 1)] = PathLevel.Pix } };

        var topology = TopologyDiscovery.Discover(host.Roots, new DescribedGpuSource(partial));

        Assert.Equal(PathLevel.Pix, topology.Gpus.PciLevels[(0, 1)]);
        Assert.Equal(PathLevel.Sys, topology.Gpus.PciLevels[(0, 2)]);
        Assert.Equal(PathLevel.Pxb, topology.Gpus.PciLevels[(2, 3)]);
    }
}
