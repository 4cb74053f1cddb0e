using DataPlane.Topology.Model;
using DataPlane.Topology.Sysfs;

namespace DataPlane.Topology.Tests.Sysfs;

public class PciPathTests
{
    private static PciChain Chain(string host, int? numa, params string[] path) =>
        new(host, [.. path.Select(PciAddress.Parse)], numa, null, "/");

    [Fact]
    public void Siblings_below_one_bridge_are_PIX()
    {
        var a = Chain("pci0000:40", 0, "0000:40:01.1", "0000:41:00.0", "0000:42:08.0", "0000:45:00.0");
        var b = Chain("pci0000:40", 0, "0000:40:01.1", "0000:41:00.0", "0000:42:08.0", "0000:45:00.1");

        Assert.Equal(PathLevel.Pix, PciPath.Classify(a, b));
    }

    [Fact]
    public void A_device_and_the_bridge_above_it_are_PIX()
    {
        var bridge = Chain("pci0000:40", 0, "0000:40:01.1", "0000:41:00.0");
        var device = Chain("pci0000:40", 0, "0000:40:01.1", "0000:41:00.0", "0000:42:00.0", "0000:43:00.0");

        Assert.Equal(PathLevel.Pix, PciPath.Classify(bridge, device));
    }

    [Fact]
    public void Two_downstream_ports_of_a_switch_are_PXB()
    {
        var a = Chain("pci0000:15", 0, "0000:15:01.0", "0000:16:00.0", "0000:17:00.0", "0000:18:00.0");
        var b = Chain("pci0000:15", 0, "0000:15:01.0", "0000:16:00.0", "0000:17:01.0", "0000:19:00.0");

        Assert.Equal(PathLevel.Pxb, PciPath.Classify(a, b));
        Assert.Equal(PathLevel.Pxb, PciPath.Classify(b, a));
    }

    [Fact]
    public void Different_root_ports_of_one_host_bridge_are_PHB()
    {
        var a = Chain("pci0000:00", 0, "0000:00:03.0", "0000:01:00.0");
        var b = Chain("pci0000:00", 0, "0000:00:02.0", "0000:02:00.0");

        Assert.Equal(PathLevel.Phb, PciPath.Classify(a, b));
    }

    [Fact]
    public void Different_host_bridges_are_NODE_on_one_node_and_SYS_across()
    {
        var a = Chain("pci0000:15", 0, "0000:15:01.0", "0000:18:00.0");
        var sameNode = Chain("pci0000:27", 0, "0000:27:01.0", "0000:2a:00.0");
        var otherNode = Chain("pci0000:97", 1, "0000:97:01.0", "0000:9a:00.0");
        var unknown = Chain("pci0000:97", null, "0000:97:01.0", "0000:9a:00.0");

        Assert.Equal(PathLevel.Node, PciPath.Classify(a, sameNode));
        Assert.Equal(PathLevel.Sys, PciPath.Classify(a, otherNode));
        Assert.Equal(PathLevel.Sys, PciPath.Classify(a, unknown));
        Assert.Equal(PathLevel.Node, PciPath.Classify(a, unknown, singleNumaNode: true));
    }

    [Fact]
    public void A_device_is_itself()
    {
        var a = Chain("pci0000:15", 0, "0000:15:01.0", "0000:18:00.0");

        Assert.Equal(PathLevel.Self, PciPath.Classify(a, a));
    }

    [Theory]
    [InlineData("/sys/devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:18:00.0", "pci0000:15", 3)]
    [InlineData("/sys/devices/LNXSYSTM:00/pci0001:00/0001:00:00.0", "pci0001:00", 1)]
    public void Device_paths_give_the_host_bridge_and_the_bridges(string path, string hostBridge, int length)
    {
        var chain = PciChain.FromDevicePath(path);

        Assert.NotNull(chain);
        Assert.Equal(hostBridge, chain.HostBridge);
        Assert.Equal(length, chain.Path.Count);
        Assert.Equal(Path.GetFileName(path), chain.Device.ToString());
    }

    [Theory]
    [InlineData("/sys/devices/virtual/net/lo")]
    [InlineData("/sys/devices/pci0000:00")]
    [InlineData("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1")]
    public void Paths_that_do_not_end_in_a_pci_function_give_no_chain(string path)
    {
        Assert.Null(PciChain.FromDevicePath(path));
    }
}
