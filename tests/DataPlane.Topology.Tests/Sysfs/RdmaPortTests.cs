using DataPlane.Testing;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology.Tests.Sysfs;

public class RdmaPortTests
{
    [Fact]
    public void Ports_give_state_rate_and_counters_with_data_in_bytes()
    {
        using var host = HostFixture.Create("dgx-h100");
        File.WriteAllText(host.Sys("class/infiniband/mlx5_0/ports/1/counters/port_rcv_errors"), "garbage\n");

        var ports = RdmaPortReader.Read(host.Roots);

        Assert.Equal(8, ports.Count);
        var p = ports[0];
        Assert.Equal(("mlx5_0", 1, 4, 5, "Ethernet"), (p.Device, p.Port, p.State, p.PhysicalState, p.LinkLayer));
        Assert.Equal(400 * 125_000_000.0, p.RateBytesPerSecond);
        // mlx5_0's fixture counters: 100 000 four-octet words received, 200 000 sent.
        Assert.Equal(400_000UL, p.Counters["port_rcv_data"]);
        Assert.Equal(800_000UL, p.Counters["port_xmit_data"]);
        Assert.Equal(1000UL, p.Counters["port_rcv_packets"]);
        Assert.False(p.Counters.ContainsKey("port_rcv_errors")); // unreadable values are skipped
        Assert.Equal(7UL, p.HwCounters["np_cnp_sent"]);
    }

    [Fact]
    public void A_host_without_rdma_devices_has_no_ports()
    {
        using var host = HostFixture.Create("dgx-h100");
        Directory.Delete(host.Sys("class/infiniband"), recursive: true);

        Assert.Empty(RdmaPortReader.Read(host.Roots));
    }
}
