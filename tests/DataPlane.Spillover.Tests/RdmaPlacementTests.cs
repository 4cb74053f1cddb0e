using DataPlane.Spillover;
using DataPlane.Topology.Model;
using DataPlane.Transfer.Rdma;

namespace DataPlane.Spillover.Tests;

public class RdmaPlacementTests
{
    private static GpuDevice Gpu(int index, int numa) =>
        new(index, "GPU", $"GPU-{index}", new PciAddress(0, (byte)(0x18 + index), 0, 0), CpuSet.Empty, numa, [], 0);

    private static NicDevice Nic(string name, byte bus, int numa, string? rdma) =>
        new(name, new PciAddress(0, bus, 0, 0), numa, CpuSet.Empty, "mlx5_core", 100_000, rdma, []);

    private static readonly HostTopology s_host = new(
        new GpuInventory([Gpu(0, 0), Gpu(1, 1)], new Dictionary<(int, int), PathLevel>(), "550", null),
        [Nic("eno1", 0x02, 0, null), Nic("ens1", 0x19, 0, "mlx5_0"), Nic("ens2", 0x9b, 1, "mlx5_1")],
        [],
        CpuSet.Empty,
        new Dictionary<(int Gpu, string Nic), PathLevel>
        {
            [(0, "eno1")] = PathLevel.Pix, // closest of all, but no RDMA device
            [(0, "ens1")] = PathLevel.Pxb,
            [(0, "ens2")] = PathLevel.Sys,
            [(1, "eno1")] = PathLevel.Sys,
            [(1, "ens1")] = PathLevel.Sys,
            [(1, "ens2")] = PathLevel.Pxb,
        },
        new Dictionary<(string A, string B), PathLevel>(),
        []);

    [Theory]
    [InlineData(0, "mlx5_0")]
    [InlineData(1, "mlx5_1")]
    public void The_rdma_nic_nearest_the_gpu_is_chosen(int gpu, string device)
    {
        var (options, reason) = RdmaPlacement.NearGpu(new RdmaOptions(), s_host, gpu);

        Assert.Equal(device, options.Device);
        Assert.Contains($"nearest GPU{gpu}: PXB, same NUMA node", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_device_an_unknown_gpu_or_no_topology_change_nothing()
    {
        var pinned = new RdmaOptions { Device = "mlx5_7" };

        Assert.Equal((pinned, (string?)null), RdmaPlacement.NearGpu(pinned, s_host, 0));
        Assert.Null(RdmaPlacement.NearGpu(new RdmaOptions(), s_host, 5).Options.Device);
        Assert.Null(RdmaPlacement.NearGpu(new RdmaOptions(), s_host, -1).Options.Device);
        Assert.Null(RdmaPlacement.NearGpu(new RdmaOptions(), null, 0).Options.Device);
    }
}
