using DataPlane.Testing;
using DataPlane.Topology.Gpus;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Gpus;

/// <summary>NvmlGpuSource through the real NVML binding, against the fake libnvidia-ml.so.1 describing each test host.</summary>
[Collection(FakeNvml.Collection)]
public class NvmlGpuSourceTests
{
    [Fact]
    public void DGX_H100_has_eight_GPUs_on_an_NVSwitch_fabric()
    {
        using var scope = FakeNvml.Use("dgx-h100");
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var inventory = source.Discover();

        Assert.Null(inventory.Problem);
        Assert.Equal("550.54.15", inventory.DriverVersion);
        Assert.Equal(Enumerable.Range(0, 8), inventory.Gpus.Select(g => g.Index));
        Assert.All(inventory.Gpus, g =>
        {
            Assert.Equal("NVIDIA H100 80GB HBM3", g.Name);
            Assert.Equal(18, g.NvSwitchLinks);
            Assert.Equal(18, g.Links.Count);
            Assert.Equal(18, g.ActiveLinks);
            Assert.All(g.Links, l =>
            {
                Assert.Equal(NvLinkRemote.Switch, l.Remote);
                Assert.Equal("4.0", l.Generation);
                Assert.NotNull(l.RemotePci);
                Assert.NotNull(l.TxBytes);
                Assert.NotNull(l.RxBytes);
                Assert.Equal(25_000_000_000ul, l.SpeedBytesPerSecond); // 25000 MBps, NVLink 4's per-direction rate
            });
        });

        var gpu0 = inventory.Gpus[0];
        Assert.Equal("GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e00", gpu0.Uuid);
        Assert.Equal(PciAddress.Parse("0000:18:00.0"), gpu0.Pci);
        Assert.Equal("0000:18:00.0", gpu0.Pci.ToString());
        Assert.Equal("0-55,112-167", gpu0.CpuAffinity.ToList());
        Assert.Equal(0, gpu0.NumaNode);
        Assert.Equal(PciAddress.Parse("0000:05:00.0"), gpu0.Links[0].RemotePci);
        Assert.Equal("56-111,168-223", inventory.Gpus[4].CpuAffinity.ToList());
        Assert.Equal(1, inventory.Gpus[4].NumaNode);

        for (int a = 0; a < 8; a++)
        {
            for (int b = 0; b < 8; b++)
            {
                Assert.Equal(a == b ? 0 : 18, inventory.NvLinksBetween(a, b));
                if (a < b)
                {
                    var expected = a / 4 == b / 4 ? PathLevel.Node : PathLevel.Sys;
                    Assert.Equal(expected, inventory.PciLevels[(a, b)]);
                }
            }
        }

        Assert.Equal(28, inventory.PciLevels.Count);
    }

    [Fact]
    public void PCIe_host_has_no_NVLink_and_switch_pairs_are_PIX()
    {
        using var scope = FakeNvml.Use("pcie-4gpu");
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var inventory = source.Discover();

        Assert.Null(inventory.Problem);
        Assert.Equal(4, inventory.Gpus.Count);
        Assert.All(inventory.Gpus, g =>
        {
            Assert.Equal("NVIDIA L40S", g.Name);
            Assert.Empty(g.Links);
            Assert.Equal(0, g.NvSwitchLinks);
        });
        Assert.Equal(0, inventory.NvLinksBetween(0, 1));
        Assert.Equal(PathLevel.Pix, inventory.PciLevels[(0, 1)]);
        Assert.Equal(PathLevel.Pix, inventory.PciLevels[(2, 3)]);
        Assert.Equal(PathLevel.Sys, inventory.PciLevels[(0, 2)]);
        Assert.Equal(PathLevel.Sys, inventory.PciLevels[(1, 3)]);
        Assert.Equal("16-31,48-63", inventory.Gpus[2].CpuAffinity.ToList());
        Assert.Equal(1, inventory.Gpus[3].NumaNode);
    }

    [Fact]
    public void NVLink_bridge_joins_two_GPUs_with_eleven_active_links()
    {
        using var scope = FakeNvml.Use("nvlink-bridge-2gpu");
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var inventory = source.Discover();

        Assert.Null(inventory.Problem);
        Assert.Equal(2, inventory.Gpus.Count);
        var gpu0 = inventory.Gpus[0];
        Assert.Equal(12, gpu0.Links.Count);
        Assert.Equal(11, gpu0.ActiveLinks);
        Assert.False(gpu0.Links[11].Active);
        Assert.Null(gpu0.Links[11].RemotePci);
        Assert.Equal(0, gpu0.NvSwitchLinks);
        Assert.All(gpu0.Links.Take(11), l =>
        {
            Assert.Equal(NvLinkRemote.Gpu, l.Remote);
            Assert.Equal(inventory.Gpus[1].Pci, l.RemotePci);
            Assert.Equal("3.0", l.Generation);
        });
        Assert.Equal(11, inventory.NvLinksBetween(0, 1));
        Assert.Equal(11, inventory.NvLinksBetween(1, 0));
        Assert.Equal(PathLevel.Sys, inventory.PciLevels[(0, 1)]);
    }

    [Fact]
    public void Link_counters_rise_between_reads()
    {
        using var scope = FakeNvml.Use("nvlink-bridge-2gpu");
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var first = source.Discover();
        var second = source.ReadLinks(first);
        var third = source.ReadLinks(second);

        Assert.Null(third.Problem);
        for (int link = 0; link < 11; link++)
        {
            ulong tx1 = first.Gpus[0].Links[link].TxBytes!.Value, tx2 = second.Gpus[0].Links[link].TxBytes!.Value, tx3 = third.Gpus[0].Links[link].TxBytes!.Value;
            Assert.True(tx1 < tx2 && tx2 < tx3, $"link {link} TX: {tx1}, {tx2}, {tx3}");
            Assert.Equal(0ul, tx1 % 1024);
            Assert.True(first.Gpus[1].Links[link].RxBytes < second.Gpus[1].Links[link].RxBytes);
        }

        // The inactive link carries nothing; the rest of the inventory is kept.
        Assert.Equal(first.Gpus[0].Links[11].TxBytes, third.Gpus[0].Links[11].TxBytes);
        Assert.False(third.Gpus[0].Links[11].Active);
        Assert.Equal(0ul, third.Gpus[0].Links[11].SpeedBytesPerSecond);
        Assert.Equal(25_000_000_000ul, third.Gpus[0].Links[10].SpeedBytesPerSecond);
        Assert.Equal(first.Gpus[0].Name, third.Gpus[0].Name);
        Assert.Equal(11, third.NvLinksBetween(0, 1));
    }

    [Fact]
    public void Missing_library_makes_the_inventory_unavailable_with_a_reason()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "libnvidia-ml.so.1");
        using var source = new NvmlGpuSource(path);

        var inventory = source.Discover();

        Assert.Empty(inventory.Gpus);
        Assert.NotNull(inventory.Problem);
        Assert.Contains(path, inventory.Problem, StringComparison.Ordinal);
        Assert.Same(inventory, source.ReadLinks(inventory));
    }

    [Fact]
    public void Driver_failure_at_init_makes_the_inventory_unavailable_with_the_NVML_error()
    {
        using var scope = FakeNvml.Use("dgx-h100", initError: 9);
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var inventory = source.Discover();

        Assert.Empty(inventory.Gpus);
        Assert.Contains("NVML_ERROR_DRIVER_NOT_LOADED", inventory.Problem, StringComparison.Ordinal);
        Assert.Contains(FakeNvml.LibraryPath, inventory.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lost_GPU_leaves_a_partial_inventory_that_names_it()
    {
        using var scope = FakeNvml.Use("dgx-h100", lostGpu: 3);
        using var source = new NvmlGpuSource(FakeNvml.LibraryPath);

        var inventory = source.Discover();

        Assert.Equal([0, 1, 2, 4, 5, 6, 7], inventory.Gpus.Select(g => g.Index));
        Assert.NotNull(inventory.Problem);
        Assert.Contains("GPU 3", inventory.Problem, StringComparison.Ordinal);
        Assert.Contains("NVML_ERROR_GPU_IS_LOST", inventory.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain(inventory.PciLevels.Keys, k => k.Item1 == 3 || k.Item2 == 3);
        Assert.Equal(PathLevel.Node, inventory.PciLevels[(0, 2)]);
        Assert.Equal(18, inventory.NvLinksBetween(0, 7));
    }
}
