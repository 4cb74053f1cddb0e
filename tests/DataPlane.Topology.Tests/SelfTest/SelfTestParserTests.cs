using DataPlane.Testing;
using DataPlane.Topology.Model;
using DataPlane.Topology.SelfTest;

namespace DataPlane.Topology.Tests.SelfTest;

/// <summary>The readers of the recorded tool outputs (tests/fixtures/selftest), and how they refuse text that is not
/// the tool's: a <see cref="ToolOutputException"/> naming the file and the line.</summary>
public class SelfTestParserTests
{
    internal static string Fixture(string host, string file) => RepoFiles.Path($"tests/fixtures/selftest/{host}/{file}");

    [Fact]
    public void Topo_reads_gpus_by_index_and_nics_by_legend_name()
    {
        var topo = NvidiaSmiTopo.Read(Fixture("dgx-h100", "nvidia-smi-topo-m.txt"));

        Assert.Equal([.. Enumerable.Range(0, 8).Select(i => $"GPU{i}"), .. Enumerable.Range(0, 8).Select(i => $"mlx5_{i}")], topo.Devices);
        Assert.Equal(["CPU Affinity", "NUMA Affinity", "GPU NUMA ID"], topo.AffinityColumns);
        Assert.Equal(["X", "NV18", "NV18", "NV18", "NV18", "NV18", "NV18", "NV18", "PXB", "NODE", "NODE", "NODE", "SYS", "SYS", "SYS", "SYS"], topo.Rows["GPU0"]);
        Assert.Equal("PXB", topo.Rows["mlx5_5"][5]);
        Assert.Equal("56-111,168-223", topo.Affinity["GPU4"]["CPU Affinity"]);
        Assert.Equal("1", topo.Affinity["GPU4"]["NUMA Affinity"]);
        Assert.Equal("N/A", topo.Affinity["GPU4"]["GPU NUMA ID"]);
        Assert.False(topo.Affinity.ContainsKey("mlx5_0"));
    }

    [Fact]
    public void Topo_reads_the_space_aligned_form_older_nic_names_and_terminal_colours()
    {
        string text =
            "\u001b[4m        GPU0    GPU1    mlx5_0  CPU Affinity    NUMA Affinity\u001b[0m\n" +
            "GPU0     X      PIX     PXB     0-15    0\n" +
            "GPU1    PIX      X      PXB     0-15    0\n" +
            "mlx5_0  PXB     PXB      X\n" +
            "\nLegend:\n\n  X    = Self\n";

        var topo = NvidiaSmiTopo.Parse("old.txt", text);

        Assert.Equal(["GPU0", "GPU1", "mlx5_0"], topo.Devices);
        Assert.Equal(["CPU Affinity", "NUMA Affinity"], topo.AffinityColumns);
        Assert.Equal(["PXB", "PXB", "X"], topo.Rows["mlx5_0"]);
    }

    [Theory]
    [InlineData("GPU0\t X \tNV11\n", "t.txt:1: expected the matrix header")]
    [InlineData("\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV11\t0-3\nGPU1\tNV11\n", "t.txt:3: GPU1 has 1 cells, the header names 2 devices")]
    [InlineData("\tGPU0\tGPU1\nGPU0\t X \tNV1.5\nGPU1\tNV1\t X \n", "t.txt:2: 'NV1.5' in row GPU0 is not a path")]
    [InlineData("\tGPU0\tGPU1\nGPU0\t X \tSYS\n\n", "t.txt:3: the matrix has no row for GPU1")]
    [InlineData("\tGPU0\tNIC0\nGPU0\t X \tPIX\nNIC0\tPIX\t X \n", "t.txt:1: NIC0 is a column but not in the NIC Legend")]
    [InlineData("\tGPU0\tCPU Affinity\tPower\nGPU0\t X \t0-3\n", "t.txt:1: unknown header column(s) 'Power'")]
    [InlineData("\tGPU0\tCPU Affinity\nGPU0\t X \t0-3\t0\n", "t.txt:2: GPU0 has 2 values after its cells, the header names 1")]
    [InlineData("  \n\n", "t.txt: is empty")]
    public void Topo_refuses_what_nvidia_smi_does_not_print(string text, string error)
    {
        var e = Assert.Throws<ToolOutputException>(() => NvidiaSmiTopo.Parse("t.txt", text));
        Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Query_reads_driver_gpus_and_their_pci_addresses()
    {
        var query = NvidiaSmiQuery.Read(Fixture("dgx-h100", "nvidia-smi-q.xml"));

        Assert.Equal("550.54.15", query.DriverVersion);
        Assert.Equal(8, query.AttachedGpus);
        Assert.Equal(8, query.Gpus.Count);
        Assert.Equal("00000000:18:00.0", query.Gpus[0].BusId);
        Assert.Equal(PciAddress.Parse("0000:db:00.0"), query.Gpus[7].Pci);
        Assert.Equal("NVIDIA H100 80GB HBM3", query.Gpus[3].Name);
        Assert.Equal("GPU-4f6a9a0e-0c53-4c55-9c1d-1a2b3c4d5e05", query.Gpus[5].Uuid);
    }

    [Fact]
    public void Query_takes_the_id_attribute_when_pci_is_missing()
    {
        var query = NvidiaSmiQuery.Parse("q.xml", "<nvidia_smi_log><gpu id=\"00000000:3B:00.0\"><uuid>GPU-1</uuid></gpu></nvidia_smi_log>");

        Assert.Equal(PciAddress.Parse("0000:3b:00.0"), Assert.Single(query.Gpus).Pci);
        Assert.Null(query.DriverVersion);
    }

    [Theory]
    [InlineData("<nvidia_smi_log>\n<gpu id=\"00000000:18:00.0\">\n<uuid>GPU-1</uuid>\n", "q.xml:4: not the XML of nvidia-smi -q -x")]
    [InlineData("<?xml version=\"1.0\" ?>\n<smi_log/>\n", "q.xml:2: the root element is 'smi_log', not nvidia_smi_log")]
    [InlineData("<nvidia_smi_log>\n<gpu>\n<uuid>GPU-1</uuid>\n</gpu>\n</nvidia_smi_log>", "q.xml:2: a <gpu> without pci/pci_bus_id or an id attribute")]
    [InlineData("<nvidia_smi_log>\n  <gpu id=\"0000:zz:00.0\"></gpu>\n</nvidia_smi_log>", "q.xml:2: pci_bus_id '0000:zz:00.0' is not a PCI address")]
    [InlineData("<nvidia_smi_log>\n<attached_gpus>eight</attached_gpus>\n</nvidia_smi_log>", "q.xml:2: attached_gpus 'eight' is not a number")]
    [InlineData("", "q.xml: not the XML of nvidia-smi -q -x")]
    public void Query_refuses_what_is_not_nvidia_smi_xml(string text, string error)
    {
        var e = Assert.Throws<ToolOutputException>(() => NvidiaSmiQuery.Parse("q.xml", text));
        Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NvLink_status_reads_states_and_speeds()
    {
        var status = NvidiaSmiNvLink.Read(Fixture("nvlink-bridge-2gpu", "nvidia-smi-nvlink-s.txt"));

        Assert.Equal([0, 1], status.Gpus.Select(g => g.Index));
        var gpu0 = status.Gpus[0];
        Assert.Equal("NVIDIA A100 80GB PCIe", gpu0.Name);
        Assert.Equal("GPU-1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e400", gpu0.Uuid);
        Assert.Equal(12, gpu0.Links.Count);
        Assert.Equal(new NvidiaSmiLink(0, true, 25_000, "25 GB/s"), gpu0.Links[0]);
        Assert.Equal(new NvidiaSmiLink(11, false, null, "<inactive>"), gpu0.Links[11]);

        var h100 = NvidiaSmiNvLink.Parse("s.txt", "GPU 0: NVIDIA H100 80GB HBM3\n\t Link 0: 26.562 GB/s\n");
        Assert.Null(h100.Gpus[0].Uuid);
        Assert.Equal(26_562, h100.Gpus[0].Links[0].SpeedMBps);
        Assert.Equal("26.562 GB/s", NvidiaSmiNvLink.FormatSpeed(26_562));
        Assert.Equal("25 GB/s", NvidiaSmiNvLink.FormatSpeed(25_000));
    }

    [Theory]
    [InlineData("\t Link 0: 25 GB/s\n", "s.txt:1: a link line before any GPU line")]
    [InlineData("GPU 0: A100\n\t Link 0: fast\n", "s.txt:2: link 0: 'fast' is neither a speed (N GB/s) nor <inactive>")]
    [InlineData("GPU zero: A100\n", "s.txt:1: 'GPU zero: A100' is not 'GPU n: name (UUID: …)'")]
    [InlineData("GPU 0: A100\n\tNVLink is up\n", "s.txt:2: 'NVLink is up' is neither a GPU line")]
    public void NvLink_status_refuses_other_text(string text, string error)
    {
        var e = Assert.Throws<ToolOutputException>(() => NvidiaSmiNvLink.Parse("s.txt", text));
        Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Devinfo_reads_devices_ports_and_gids_past_the_capability_lists()
    {
        var devinfo = IbvDevinfo.Read(Fixture("dgx-h100", "ibv_devinfo-v.txt"));

        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"mlx5_{i}"), devinfo.Devices.Select(d => d.Name));
        var mlx5 = devinfo.Devices[3];
        Assert.Equal("28.39.1002", mlx5.FirmwareVersion);
        Assert.Equal("MT_0000000838", mlx5.BoardId);
        Assert.Equal(1, mlx5.PhysicalPortCount);
        var port = Assert.Single(mlx5.Ports);
        Assert.Equal(1, port.Port);
        Assert.Equal(new IbvEnum("PORT_ACTIVE", 4), port.State);
        Assert.Equal(new IbvEnum("LINK_UP", 5), port.PhysicalState);
        Assert.Equal(new IbvEnum("1024", 3), port.ActiveMtu);
        Assert.Equal("Ethernet", port.LinkLayer);
        Assert.Equal([0, 1], port.Gids.Keys.Order());
        Assert.EndsWith(", RoCE v2", port.Gids[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Devinfo_of_a_host_without_devices_is_empty()
    {
        Assert.Empty(IbvDevinfo.Parse("i.txt", "").Devices);
        Assert.Empty(IbvDevinfo.Parse("i.txt", "No IB devices found\n").Devices);
    }

    [Theory]
    [InlineData("\ttransport:\t\t\tInfiniBand (0)\n", "i.txt:1: 'transport' before the first hca_id line")]
    [InlineData("hca_id:\tmlx5_0\n\t\tport:\tone\n", "i.txt:2: port 'one' is not a port number")]
    [InlineData("hca_id:\tmlx5_0\n\t\tport:\t1\n\t\t\tstate:\t\t\tPORT_ACTIVE\n", "i.txt:3: state 'PORT_ACTIVE' is not 'NAME (N)'")]
    [InlineData("hca_id:\tmlx5_0\n\tphys_port_cnt:\t\t\tmany\n", "i.txt:2: phys_port_cnt 'many' is not a number")]
    public void Devinfo_refuses_other_text(string text, string error)
    {
        var e = Assert.Throws<ToolOutputException>(() => IbvDevinfo.Parse("i.txt", text));
        Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"dataplane-no-such-{Guid.NewGuid():N}.txt");

        var e = Assert.Throws<ToolOutputException>(() => HostSelfTest.Load(new SelfTestSources(null, null, null, missing)));

        Assert.StartsWith($"{missing}: cannot be read", e.Message, StringComparison.Ordinal);
        Assert.Equal(missing, e.File);
        Assert.Null(e.Line);
    }
}
