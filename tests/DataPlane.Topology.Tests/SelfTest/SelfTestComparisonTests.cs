using DataPlane.Testing;
using DataPlane.Topology.Model;
using DataPlane.Topology.SelfTest;

namespace DataPlane.Topology.Tests.SelfTest;

/// <summary>The self-test's comparisons: the fixture hosts' discovery (sysfs/procfs trees and the hosts' NVML facts) against
/// tool outputs recorded for the same hosts, as they are and with one thing changed at a time.</summary>
public class SelfTestComparisonTests
{
    private static SelfTestReport Run(HostFixture host, SelfTestSources sources) =>
        HostSelfTest.Run(HostSelfTest.Load(sources), TopologyDiscovery.Discover(host.Roots, host.GpuSource), host.Roots);

    private static SelfTestSources AllOf(string host) => new(
        SelfTestParserTests.Fixture(host, "nvidia-smi-topo-m.txt"),
        SelfTestParserTests.Fixture(host, "nvidia-smi-q.xml"),
        SelfTestParserTests.Fixture(host, "nvidia-smi-nvlink-s.txt"),
        SelfTestParserTests.Fixture(host, "ibv_devinfo-v.txt"));

    /// <summary>A copy of a fixture file with one edit, in <paramref name="folder"/>.</summary>
    private static string Edited(TempFolder folder, string host, string file, string from, string to)
    {
        string text = File.ReadAllText(SelfTestParserTests.Fixture(host, file));
        Assert.Contains(from, text, StringComparison.Ordinal);
        string path = folder.File(file);
        File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
        return path;
    }

    private static SelfTestCheck Mismatch(SelfTestReport report) => Assert.Single(report.Results, c => !c.Ok);

    [Theory]
    [InlineData("dgx-h100")]
    [InlineData("nvlink-bridge-2gpu")]
    public void Outputs_recorded_on_the_same_host_agree_in_every_check(string hostName)
    {
        using var host = HostFixture.Create(hostName);

        var report = Run(host, AllOf(hostName));

        Assert.True(report.Ok, string.Join("\n", report.Results.Where(c => !c.Ok)));
        Assert.Equal(0, report.Mismatches);
        Assert.Equal(["topo", "gpus", "nvlink", "rdma"], report.Sections.Select(s => s.Section));
        Assert.All(report.Sections, s => Assert.True(s.Checks > 0, s.Section));
        Assert.Equal(report.Results.Count, report.Checks);
    }

    [Fact]
    public void The_dgx_is_checked_cell_by_cell_without_its_management_nic()
    {
        using var host = HostFixture.Create("dgx-h100");

        var report = Run(host, AllOf("dgx-h100") with { NvidiaSmiQuery = null, NvidiaSmiNvLink = null, IbvDevinfo = null });

        var topo = report.Results.Where(c => c.Section == "topo").ToList();
        Assert.Equal((16 * 16) + (8 * 3), topo.Count);
        Assert.Contains(new SelfTestCheck("topo", "GPU3/mlx5_3", "PXB", "PXB", true), topo);
        Assert.Contains(new SelfTestCheck("topo", "mlx5_0/mlx5_4", "SYS", "SYS", true), topo);
        Assert.Contains(new SelfTestCheck("topo", "GPU5 CPU Affinity", "56-111,168-223", "56-111,168-223", true), topo);
        Assert.DoesNotContain(topo, c => c.Name.Contains("eno1", StringComparison.Ordinal));
        Assert.Equal(7, topo.Count(c => c.Ours == "NV18" && c.Theirs == "NV18" && c.Name.StartsWith("GPU0/", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_differing_cell_is_named_by_both_devices()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");

        var report = Run(host, new SelfTestSources(SelfTestParserTests.Fixture("nvlink-bridge-2gpu", "nvidia-smi-topo-m.mismatch.txt"), null, null, null));

        Assert.False(report.Ok);
        Assert.Equal(
            [new SelfTestCheck("topo", "GPU0/mlx5_0", "PHB", "PIX", false), new SelfTestCheck("topo", "mlx5_0/GPU0", "PHB", "PIX", false)],
            report.Results.Where(c => !c.Ok));
        Assert.Equal(2, report.Mismatches);
        Assert.Equal(new SelfTestSectionSummary("topo", 9 + 6, 2), Assert.Single(report.Sections));
    }

    [Fact]
    public void A_differing_affinity_is_a_mismatch_and_an_equal_cpu_set_is_not()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        using var folder = new TempFolder("dataplane-selftest-");
        string topo = Edited(folder, "nvlink-bridge-2gpu", "nvidia-smi-topo-m.txt", "GPU1\tNV11\t X \tSYS\t24-47\t1", "GPU1\tNV11\t X \tSYS\t24-47\t0");
        File.WriteAllText(topo, File.ReadAllText(topo).Replace("\t0-23\t", "\t0-11,12-23\t", StringComparison.Ordinal));

        var report = Run(host, new SelfTestSources(topo, null, null, null));

        Assert.Equal(new SelfTestCheck("topo", "GPU1 NUMA Affinity", "1", "0", false), Mismatch(report));
        Assert.Contains(new SelfTestCheck("topo", "GPU0 CPU Affinity", "0-23", "0-11,12-23", true), report.Results);
    }

    [Fact]
    public void A_device_only_one_side_has_is_named()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        using var folder = new TempFolder("dataplane-selftest-");
        string topo = Edited(folder, "nvlink-bridge-2gpu", "nvidia-smi-topo-m.txt", "NIC0: mlx5_0", "NIC0: mlx5_9");

        var report = Run(host, new SelfTestSources(topo, null, null, null));

        Assert.Equal(
            [new SelfTestCheck("topo", "mlx5_9 is a device", "absent", "present", false), new SelfTestCheck("topo", "mlx5_0 is a device", "present", "absent", false)],
            report.Results.Where(c => !c.Ok));
    }

    [Fact]
    public void A_differing_pci_address_is_named_with_its_gpu()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        using var folder = new TempFolder("dataplane-selftest-");
        string query = Edited(folder, "nvlink-bridge-2gpu", "nvidia-smi-q.xml", "<pci_bus_id>00000000:81:00.0</pci_bus_id>", "<pci_bus_id>00000000:82:00.0</pci_bus_id>");

        var report = Run(host, new SelfTestSources(null, query, null, null));

        Assert.Equal(new SelfTestCheck("gpus", "GPU1 PCI bus id", "00000000:81:00.0", "00000000:82:00.0", false), Mismatch(report));
        Assert.Contains(new SelfTestCheck("gpus", "driver version", "535.161.08", "535.161.08", true), report.Results);
        Assert.Contains(new SelfTestCheck("gpus", "GPU0 UUID", "GPU-1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e400", "GPU-1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e400", true), report.Results);
    }

    [Fact]
    public void A_gpu_nvidia_smi_does_not_list_is_named()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        using var folder = new TempFolder("dataplane-selftest-");
        string full = File.ReadAllText(SelfTestParserTests.Fixture("nvlink-bridge-2gpu", "nvidia-smi-q.xml"));
        int second = full.IndexOf("\t<gpu id=\"00000000:81:00.0\">", StringComparison.Ordinal);
        int end = full.IndexOf("</gpu>\n", second, StringComparison.Ordinal) + "</gpu>\n".Length;
        string query = folder.File("q.xml");
        File.WriteAllText(query, full[..second] + full[end..]);

        var report = Run(host, new SelfTestSources(null, query, null, null));

        Assert.Equal(
            [
                new SelfTestCheck("gpus", "GPU count", "2", "1", false),
                new SelfTestCheck("gpus", "GPU1 is a device", "00000000:81:00.0", "absent", false),
            ],
            report.Results.Where(c => !c.Ok));
        Assert.DoesNotContain(report.Results, c => c.Name.StartsWith("GPU1 ", StringComparison.Ordinal) && c.Name != "GPU1 is a device");
    }

    [Fact]
    public void A_link_nvidia_smi_shows_down_is_named_by_gpu_and_link()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        using var folder = new TempFolder("dataplane-selftest-");
        string text = File.ReadAllText(SelfTestParserTests.Fixture("nvlink-bridge-2gpu", "nvidia-smi-nvlink-s.txt"));
        int gpu1 = text.IndexOf("GPU 1:", StringComparison.Ordinal);
        string nvlink = folder.File("s.txt");
        File.WriteAllText(nvlink, text[..gpu1] + text[gpu1..].Replace("Link 3: 25 GB/s", "Link 3: <inactive>", StringComparison.Ordinal));

        var report = Run(host, new SelfTestSources(null, null, nvlink, null));

        Assert.Equal(new SelfTestCheck("nvlink", "GPU1 link 3 state", "active", "inactive", false), Mismatch(report));
        Assert.Contains(new SelfTestCheck("nvlink", "GPU0 link 11 state", "inactive", "inactive", true), report.Results);
        Assert.Contains(new SelfTestCheck("nvlink", "GPU0 link 0 speed", "25 GB/s", "25 GB/s", true), report.Results);
        Assert.Contains(new SelfTestCheck("nvlink", "GPU1 link count", "12", "12", true), report.Results);
    }

    [Fact]
    public void A_differing_link_speed_is_a_mismatch()
    {
        using var host = HostFixture.Create("dgx-h100");
        using var folder = new TempFolder("dataplane-selftest-");
        string nvlink = Edited(folder, "dgx-h100", "nvidia-smi-nvlink-s.txt", "e00)\n\t Link 0: 25 GB/s", "e00)\n\t Link 0: 26.562 GB/s");

        var report = Run(host, new SelfTestSources(null, null, nvlink, null));

        Assert.Equal(new SelfTestCheck("nvlink", "GPU0 link 0 speed", "25 GB/s", "26.562 GB/s", false), Mismatch(report));
        Assert.Equal(8 * (1 + (18 * 2)), report.Checks);
    }

    [Fact]
    public void A_missing_rdma_device_is_named()
    {
        using var host = HostFixture.Create("dgx-h100");
        using var folder = new TempFolder("dataplane-selftest-");
        string full = File.ReadAllText(SelfTestParserTests.Fixture("dgx-h100", "ibv_devinfo-v.txt"));
        string devinfo = folder.File("i.txt");
        File.WriteAllText(devinfo, full[..full.IndexOf("hca_id:\tmlx5_7", StringComparison.Ordinal)]);

        var report = Run(host, new SelfTestSources(null, null, null, devinfo));

        Assert.Equal(new SelfTestCheck("rdma", "mlx5_7 is a device", "present", "absent", false), Mismatch(report));
        Assert.Contains(new SelfTestCheck("rdma", "mlx5_6 port 1 state", "PORT_ACTIVE (4)", "PORT_ACTIVE (4)", true), report.Results);
        Assert.Contains(new SelfTestCheck("rdma", "mlx5_6 port 1 active_mtu", "1024 (netdev enp187s0np0 MTU 1500)", "1024 (3)", true), report.Results);
    }

    [Fact]
    public void A_port_state_sysfs_and_ibv_devinfo_disagree_on_is_named()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        File.WriteAllText(host.Sys("class/infiniband/mlx5_0/ports/1/state"), "1: DOWN\n");
        File.WriteAllText(host.Sys("class/net/enp2s0f0np0/mtu"), "9000\n");

        var report = Run(host, new SelfTestSources(null, null, null, SelfTestParserTests.Fixture("nvlink-bridge-2gpu", "ibv_devinfo-v.txt")));

        Assert.Equal(
            [
                new SelfTestCheck("rdma", "mlx5_0 port 1 state", "PORT_DOWN (1)", "PORT_ACTIVE (4)", false),
                new SelfTestCheck("rdma", "mlx5_0 port 1 active_mtu", "4096 (netdev enp2s0f0np0 MTU 9000)", "1024 (3)", false),
            ],
            report.Results.Where(c => !c.Ok));
    }

    [Theory]
    [InlineData(1500, 1024)]
    [InlineData(1100, 512)]
    [InlineData(2144, 2048)]
    [InlineData(2143, 1024)]
    [InlineData(4192, 4096)]
    [InlineData(9000, 4096)]
    [InlineData(300, 256)]
    public void The_roce_mtu_leaves_room_for_the_headers(long netdevMtu, int ibMtu) =>
        Assert.Equal(ibMtu, SelfTestComparison.RoceMtu(netdevMtu));

    [Fact]
    public void Without_nvml_every_gpu_check_fails_and_discovery_says_why()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        var topology = TopologyDiscovery.Discover(host.Roots, new DescribedGpuSource(GpuInventory.Unavailable("NVML is not installed")));

        var report = HostSelfTest.Run(HostSelfTest.Load(AllOf("nvlink-bridge-2gpu") with { IbvDevinfo = null }), topology, host.Roots);

        Assert.False(report.Ok);
        Assert.Contains(new SelfTestCheck("gpus", "GPU count", "0", "2", false), report.Results);
        Assert.Contains(new SelfTestCheck("nvlink", "GPU0 is a device", "absent", "NVIDIA A100 80GB PCIe", false), report.Results);
        Assert.Contains(new SelfTestCheck("topo", "GPU1 is a device", "absent", "present", false), report.Results);
        Assert.Contains("GPUs: NVML is not installed", report.Problems);
    }

    [Fact]
    public void The_report_round_trips_as_json_and_reads_as_text()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        var report = Run(host, new SelfTestSources(SelfTestParserTests.Fixture("nvlink-bridge-2gpu", "nvidia-smi-topo-m.mismatch.txt"), null, null, null));

        string json = HostSelfTest.Serialize(report);
        var back = HostSelfTest.Deserialize(json);

        Assert.Contains("\"ok\": false", json, StringComparison.Ordinal);
        Assert.Contains("\"nvidia_smi_topo\": ", json, StringComparison.Ordinal);
        Assert.Contains("\"theirs\": \"PIX\"", json, StringComparison.Ordinal);
        Assert.NotNull(back);
        Assert.Equal(report.Results, back.Results);
        Assert.Equal(report.Sections, back.Sections);
        Assert.Equal(
            "dataplane selftest: 15 checks, 2 mismatches\n" +
            "  topo       15 checks     2 mismatches\n\n" +
            "Mismatches (ours / theirs):\n\n" +
            "  topo GPU0/mlx5_0: PHB / PIX\n" +
            "  topo mlx5_0/GPU0: PHB / PIX\n",
            HostSelfTest.Render(report));
    }
}
