using System.Text.Json;
using DataPlane.Testing;
using DataPlane.Topology.Matrix;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Matrix;

public class TopologyJsonTests
{
    private static HostTopology Discover(string hostName)
    {
        using var host = HostFixture.Create(hostName);
        return TopologyDiscovery.Discover(host.Roots, host.GpuSource);
    }

    [Fact]
    public void The_report_round_trips_through_the_generated_context()
    {
        string json = TopologyJson.Serialize(Discover("dgx-h100"));

        var report = TopologyJson.Deserialize(json);

        Assert.NotNull(report);
        Assert.Equal(json, TopologyJson.Serialize(report));
        Assert.Equal(8, report.Gpus.Count);
        Assert.Equal(9, report.Nics.Count);
        Assert.Equal(17, report.Matrix.Rows.Count);
        Assert.Equal("550.54.15", report.DriverVersion);
    }

    [Fact]
    public void Gpus_nics_matrix_and_recommendations_use_snake_case_names()
    {
        string json = TopologyJson.Serialize(Discover("nvlink-bridge-2gpu"));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;

        var gpu = root.GetProperty("gpus")[0];
        Assert.Equal(0, gpu.GetProperty("index").GetInt32());
        Assert.Equal("NVIDIA A100 80GB PCIe", gpu.GetProperty("name").GetString());
        Assert.Equal("GPU-1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e400", gpu.GetProperty("uuid").GetString());
        Assert.Equal("0000:01:00.0", gpu.GetProperty("pci_bus_id").GetString());
        Assert.Equal("0-23", gpu.GetProperty("cpu_affinity").GetString());
        Assert.Equal(0, gpu.GetProperty("numa_node").GetInt32());
        var links = gpu.GetProperty("links");
        Assert.Equal(12, links.GetArrayLength());
        Assert.Equal("active", links[0].GetProperty("state").GetString());
        Assert.Equal("inactive", links[11].GetProperty("state").GetString());
        Assert.Equal("3.0", links[0].GetProperty("generation").GetString());
        Assert.Equal("gpu", links[0].GetProperty("remote").GetString());
        Assert.Equal("0000:81:00.0", links[0].GetProperty("remote_pci_bus_id").GetString());
        Assert.Equal(JsonValueKind.Null, links[0].GetProperty("tx_bytes").ValueKind);
        Assert.Equal(25_000_000_000ul, links[0].GetProperty("speed_bytes_per_second").GetUInt64());
        Assert.Equal(0ul, links[11].GetProperty("speed_bytes_per_second").GetUInt64());

        var nic = root.GetProperty("nics")[0];
        Assert.Equal("enp2s0f0np0", nic.GetProperty("name").GetString());
        Assert.Equal("0000:02:00.0", nic.GetProperty("pci").GetString());
        Assert.Equal(0, nic.GetProperty("numa_node").GetInt32());
        Assert.Equal("0-23", nic.GetProperty("local_cpus").GetString());
        Assert.Equal("mlx5_core", nic.GetProperty("driver").GetString());
        Assert.Equal(100_000, nic.GetProperty("speed_mbps").GetInt64());
        Assert.Equal("mlx5_0", nic.GetProperty("rdma").GetString());
        Assert.Equal(9, nic.GetProperty("irqs").GetArrayLength());
        Assert.True(nic.GetProperty("irqs")[0].GetProperty("control").GetBoolean());
        Assert.Equal(0, nic.GetProperty("irqs")[1].GetProperty("queue").GetInt32());

        var matrix = root.GetProperty("matrix");
        Assert.Equal(["GPU0", "GPU1", "NIC0"], matrix.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        var row = matrix.GetProperty("rows")[0];
        Assert.Equal("GPU0", row.GetProperty("device").GetString());
        Assert.Equal(["X", "NV11", "PHB"], row.GetProperty("cells").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("0-23", row.GetProperty("cpu_affinity").GetString());
        Assert.Equal(JsonValueKind.Null, matrix.GetProperty("rows")[2].GetProperty("cpu_affinity").ValueKind);

        var nearest = root.GetProperty("nearest_nics");
        Assert.Equal("mlx5_0", nearest[0].GetProperty("nic").GetString());
        Assert.Equal("PHB", nearest[0].GetProperty("level").GetString());
        Assert.Equal("SYS", nearest[1].GetProperty("level").GetString());
        Assert.Equal(0, root.GetProperty("problems").GetArrayLength());
    }

    [Fact]
    public void Problems_are_in_the_report()
    {
        using var host = HostFixture.Create("pcie-4gpu");
        var topology = TopologyDiscovery.Discover(host.Roots, new DescribedGpuSource(GpuInventory.Unavailable("driver not loaded")));

        var report = TopologyJson.Deserialize(TopologyJson.Serialize(topology));

        Assert.NotNull(report);
        Assert.Equal(["GPUs: driver not loaded"], report.Problems);
        Assert.Empty(report.Gpus);
        Assert.Equal(3, report.Matrix.Columns.Count);
    }
}
