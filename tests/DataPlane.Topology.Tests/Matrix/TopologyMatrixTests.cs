using DataPlane.Testing;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Matrix;

public class TopologyMatrixTests
{
    private static HostTopology Discover(string hostName)
    {
        using var host = HostFixture.Create(hostName);
        return TopologyDiscovery.Discover(host.Roots, host.GpuSource);
    }

    private static string[] Lines(string text) => text.Split('\n');

    [Fact]
    public void Dgx_matrix_has_the_nvidia_smi_layout()
    {
        var lines = Lines(TopologyMatrix.Render(Discover("dgx-h100")));

        Assert.Equal(
            "        GPU0    GPU1    GPU2    GPU3    GPU4    GPU5    GPU6    GPU7    NIC0    NIC1    NIC2    NIC3    NIC4    NIC5    NIC6    NIC7    NIC8    CPU Affinity    NUMA Affinity   GPU NUMA ID",
            lines[0]);
        Assert.Equal(
            "GPU0     X      NV18    NV18    NV18    NV18    NV18    NV18    NV18    PXB     NODE    NODE    NODE    SYS     SYS     SYS     SYS     NODE    0-55,112-167    0               N/A",
            lines[1]);
        Assert.Equal(
            "GPU4    NV18    NV18    NV18    NV18     X      NV18    NV18    NV18    SYS     SYS     SYS     SYS     PXB     NODE    NODE    NODE    SYS     56-111,168-223  1               N/A",
            lines[5]);
        Assert.Equal(
            "NIC0    PXB     NODE    NODE    NODE    SYS     SYS     SYS     SYS      X      NODE    NODE    NODE    SYS     SYS     SYS     SYS     NODE",
            lines[9]);
        Assert.Equal(
            "NIC8    NODE    NODE    NODE    NODE    SYS     SYS     SYS     SYS     NODE    NODE    NODE    NODE    SYS     SYS     SYS     SYS      X",
            lines[17]);
        Assert.Equal("", lines[18]);
    }

    [Fact]
    public void The_legend_is_printed_verbatim_with_the_nic_legend()
    {
        string text = TopologyMatrix.Render(Discover("dgx-h100"));

        Assert.Contains(
            "  X    = Self\n" +
            "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)\n" +
            "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node\n" +
            "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)\n" +
            "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)\n" +
            "  PIX  = Connection traversing at most a single PCIe bridge\n" +
            "  NV#  = Connection traversing a bonded set of # NVLinks\n",
            text,
            StringComparison.Ordinal);
        Assert.Contains(
            "NIC Legend:\n\n  NIC0: mlx5_0\n  NIC1: mlx5_1\n  NIC2: mlx5_2\n  NIC3: mlx5_3\n  NIC4: mlx5_4\n  NIC5: mlx5_5\n  NIC6: mlx5_6\n  NIC7: mlx5_7\n  NIC8: eno1\n",
            text,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Problems:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dgx_recommends_each_gpu_its_own_switch_nic()
    {
        var topology = Discover("dgx-h100");

        var nearest = TopologyMatrix.NearestNics(topology);

        Assert.Equal(8, nearest.Count);
        for (int g = 0; g < 8; g++)
        {
            Assert.Equal(new NearestNic(g, $"mlx5_{g}", topology.Nics.Single(n => n.RdmaDevice == $"mlx5_{g}").Name, g, PathLevel.Pxb, true), nearest[g]);
        }

        string text = TopologyMatrix.Render(topology);
        Assert.Contains("Nearest NIC per GPU:\n\n  GPU0 -> mlx5_0 (NIC0, PXB, NUMA-local)\n  GPU1 -> mlx5_1 (NIC1, PXB, NUMA-local)\n", text, StringComparison.Ordinal);
        Assert.Contains("  GPU7 -> mlx5_7 (NIC7, PXB, NUMA-local)\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Nvlink_bridge_matrix_shows_NV11()
    {
        var lines = Lines(TopologyMatrix.Render(Discover("nvlink-bridge-2gpu")));

        Assert.Equal("        GPU0    GPU1    NIC0    CPU Affinity    NUMA Affinity   GPU NUMA ID", lines[0]);
        Assert.Equal("GPU0     X      NV11    PHB     0-23    0               N/A", lines[1]);
        Assert.Equal("GPU1    NV11     X      SYS     24-47   1               N/A", lines[2]);
        Assert.Equal("NIC0    PHB     SYS      X", lines[3]);
    }

    [Fact]
    public void Pcie_matrix_prints_nvml_levels_between_gpus()
    {
        var lines = Lines(TopologyMatrix.Render(Discover("pcie-4gpu")));

        Assert.Equal("GPU0     X      PIX     SYS     SYS     PXB     PXB     SYS     0-15,32-47      0               N/A", lines[1]);
        Assert.Equal("NIC0    PXB     PXB     SYS     SYS      X      PIX     SYS", lines[5]);
    }

    [Fact]
    public void Ties_go_to_the_numa_local_nic_then_the_lowest_index()
    {
        var gpu = new GpuDevice(0, "GPU", "GPU-0", PciAddress.Parse("0000:18:00.0"), CpuSet.ParseList("0-3"), 1, [], 0);
        NicDevice Nic(string name, string rdma, int numa, string pci) =>
            new(name, PciAddress.Parse(pci), numa, CpuSet.Empty, "mlx5_core", null, rdma, []);
        var nics = new[] { Nic("a", "mlx5_0", 0, "0000:20:00.0"), Nic("b", "mlx5_1", 1, "0000:21:00.0"), Nic("c", "mlx5_2", 1, "0000:22:00.0") };
        var topology = new HostTopology(
            new GpuInventory([gpu], new Dictionary<(int, int), PathLevel>(), null, null),
            nics,
            [],
            CpuSet.Empty,
            new Dictionary<(int Gpu, string Nic), PathLevel> { [(0, "a")] = PathLevel.Node, [(0, "b")] = PathLevel.Node, [(0, "c")] = PathLevel.Node },
            new Dictionary<(string A, string B), PathLevel>(),
            []);

        Assert.Equal(new NearestNic(0, "mlx5_1", "b", 1, PathLevel.Node, true), Assert.Single(TopologyMatrix.NearestNics(topology)));

        var closer = topology with
        {
            GpuNic = new Dictionary<(int Gpu, string Nic), PathLevel> { [(0, "a")] = PathLevel.Phb, [(0, "b")] = PathLevel.Sys, [(0, "c")] = PathLevel.Sys },
        };
        Assert.Equal(new NearestNic(0, "mlx5_0", "a", 0, PathLevel.Phb, false), Assert.Single(TopologyMatrix.NearestNics(closer)));
    }

    [Fact]
    public void Without_gpus_the_nic_matrix_and_the_problem_are_printed()
    {
        using var host = HostFixture.Create("dgx-h100");
        var topology = TopologyDiscovery.Discover(host.Roots, new DescribedGpuSource(GpuInventory.Unavailable("NVML is not available: libnvidia-ml.so.1 not found")));

        string text = TopologyMatrix.Render(topology);
        var lines = Lines(text);

        Assert.Equal("        NIC0    NIC1    NIC2    NIC3    NIC4    NIC5    NIC6    NIC7    NIC8", lines[0]);
        Assert.Equal("NIC0     X      NODE    NODE    NODE    SYS     SYS     SYS     SYS     NODE", lines[1]);
        Assert.Empty(TopologyMatrix.NearestNics(topology));
        Assert.DoesNotContain("Nearest NIC", text, StringComparison.Ordinal);
        Assert.EndsWith("Problems:\n\n  - GPUs: NVML is not available: libnvidia-ml.so.1 not found\n", text, StringComparison.Ordinal);
    }
}
