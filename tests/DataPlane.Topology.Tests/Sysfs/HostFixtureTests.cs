using DataPlane.Testing;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Sysfs;

public class HostFixtureTests
{
    [Fact]
    public void Pci_links_are_relative_like_the_kernels()
    {
        using var host = HostFixture.Create("dgx-h100");

        string? bus = new FileInfo(host.Sys("bus/pci/devices/0000:19:00.0")).LinkTarget;
        string? net = new FileInfo(host.Sys("class/net/enp25s0np0")).LinkTarget;
        string? device = new FileInfo(host.Sys("class/net/enp25s0np0/device")).LinkTarget;
        string? ib = new FileInfo(host.Sys("class/infiniband/mlx5_0")).LinkTarget;

        Assert.Equal("../../../devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:01.0/0000:19:00.0", bus);
        Assert.Equal("../../devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:01.0/0000:19:00.0/net/enp25s0np0", net);
        Assert.Equal("../../../0000:19:00.0", device);
        Assert.Equal("../../devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:01.0/0000:19:00.0/infiniband/mlx5_0", ib);
        Assert.Equal("0x15b3", File.ReadAllText(host.Sys("class/net/enp25s0np0/device/vendor")).Trim());
        Assert.EndsWith("bus/pci/drivers/mlx5_core", new FileInfo(host.Sys("bus/pci/devices/0000:19:00.0/driver")).LinkTarget, StringComparison.Ordinal);
    }

    [Fact]
    public void Virtual_interfaces_have_no_device_link()
    {
        using var host = HostFixture.Create("dgx-h100");

        Assert.True(Directory.Exists(host.Sys("class/net/lo")));
        Assert.False(Path.Exists(host.Sys("class/net/lo/device")));
        Assert.Equal("../../devices/virtual/net/docker0", new FileInfo(host.Sys("class/net/docker0")).LinkTarget);
    }

    [Fact]
    public void Gpus_get_pci_directories()
    {
        using var host = HostFixture.Create("dgx-h100");
        string gpu = host.DevicePath(PciAddress.Parse("0000:9a:00.0"));

        Assert.Equal("0x030200", File.ReadAllText(Path.Combine(gpu, "class")).Trim());
        Assert.Equal("0x10de", File.ReadAllText(Path.Combine(gpu, "vendor")).Trim());
        Assert.Equal("1", File.ReadAllText(Path.Combine(gpu, "numa_node")).Trim());
        Assert.Equal("56-111,168-223", File.ReadAllText(Path.Combine(gpu, "local_cpulist")).Trim());
    }

    [Fact]
    public void Procfs_holds_interrupts_irq_affinities_and_sysctls()
    {
        using var host = HostFixture.Create("dgx-h100");

        string interrupts = File.ReadAllText(host.Proc("interrupts"));
        Assert.Contains(" 100:", interrupts, StringComparison.Ordinal);
        Assert.Contains("mlx5_async0@pci:0000:19:00.0", interrupts, StringComparison.Ordinal);
        Assert.Contains("mlx5_comp15@pci:0000:19:00.0", interrupts, StringComparison.Ordinal);
        Assert.Contains("eno1-TxRx-3", interrupts, StringComparison.Ordinal);
        Assert.Equal("0-223\n", File.ReadAllText(host.Proc("irq/101/smp_affinity_list")));
        Assert.Equal("0-223\n", File.ReadAllText(host.Proc("irq/101/effective_affinity_list")));
        Assert.Equal(CpuSet.ParseList("0-223"), CpuSet.ParseMask(File.ReadAllText(host.Proc("irq/101/smp_affinity"))));
        Assert.Equal("4096\t131072\t6291456\n", File.ReadAllText(host.Proc("sys/net/ipv4/tcp_rmem")));
        Assert.Equal("4096\n", File.ReadAllText(host.Proc("sys/net/core/somaxconn")));
        Assert.Equal(16, host.Description.Sysctls.Count);
    }

    [Fact]
    public void Dispose_removes_the_tree()
    {
        var host = HostFixture.Create("pcie-4gpu");
        string root = host.Root;
        Assert.True(Directory.Exists(Path.Combine(root, "sys", "devices")));

        host.Dispose();

        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void The_description_parses_quoted_values_and_gpu_links()
    {
        var host = HostDescription.Load("nvlink-bridge-2gpu");

        Assert.Equal("NVIDIA A100 80GB PCIe", host.Gpus[0].Name);
        Assert.Equal([11], host.Gpus[0].InactiveLinks);
        Assert.Equal(1, host.Gpus[0].RemoteGpu);
        Assert.Equal("535.161.08", host.DriverVersion);
        var inventory = host.ToGpuInventory();
        Assert.Equal(12, inventory.Gpus[0].Links.Count);
        Assert.Equal(11, inventory.Gpus[0].ActiveLinks);
        Assert.Equal(PathLevel.Sys, inventory.PciLevels[(0, 1)]);
    }

    [Fact]
    public void A_malformed_description_names_its_line()
    {
        var e = Assert.Throws<FormatException>(() => HostDescription.Parse("bad", "cpus 0-3\nnic eth0 0000:01:00.0 pci0000:00 nodriver\n"));

        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }
}
