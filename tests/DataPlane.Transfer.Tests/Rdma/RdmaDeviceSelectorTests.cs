using DataPlane.Interop.Verbs;
using DataPlane.Testing;
using DataPlane.Transfer.Rdma;

namespace DataPlane.Transfer.Tests.Rdma;

public sealed class RdmaDeviceSelectorTests
{
    private static VerbsGidEntry Gid(int index, string address, GidType type = GidType.RoceV2, string? netdev = "eth0") =>
        new(index, VerbsGid.Parse(address), type, netdev is null ? 0 : 2, netdev);

    private static VerbsDeviceInfo Device(string name, PortState state, params VerbsGidEntry[] gids) =>
        new(name, null, [new VerbsPortInfo(1, state, Mtu.Mtu4096, Mtu.Mtu4096, LinkLayer.Ethernet, 8, 0, gids)], null);

    [Fact]
    public void Link_local_v1_and_zero_gids_are_rejected_and_ipv4_mapped_v2_wins()
    {
        var device = Device("mlx5_0", PortState.Active,
            Gid(0, "fe80::1", GidType.RoceV1),
            Gid(1, "fe80::1"),
            Gid(2, "::"),
            Gid(3, "fd00::5"),
            Gid(4, "::ffff:10.0.0.5", GidType.RoceV1),
            Gid(5, "::ffff:10.0.0.5"));

        var selection = RdmaDeviceSelector.Select([device], new RdmaOptions(), out string reason);

        Assert.NotNull(selection);
        Assert.Equal(5, selection.Gid.Index);
        Assert.Contains("gid index 5", reason, StringComparison.Ordinal);
        string all = string.Join("\n", selection.Rejections);
        Assert.Contains("gid 0 fe80::1: RoCE v1", all, StringComparison.Ordinal);
        Assert.Contains("gid 1 fe80::1: link-local", all, StringComparison.Ordinal);
        Assert.Contains("gid 2 ::: zero GID", all, StringComparison.Ordinal);
        Assert.Contains("gid 3 fd00::5: usable, but a better GID exists", all, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gid_without_a_netdev_or_outside_the_subnet_is_rejected()
    {
        var device = Device("mlx5_0", PortState.Active, Gid(2, "::ffff:10.0.0.5", netdev: null), Gid(3, "::ffff:192.168.1.9"), Gid(4, "::ffff:10.1.2.3"));

        var selection = RdmaDeviceSelector.Select([device], new RdmaOptions { Subnet = "10.1.0.0/16" }, out _);

        Assert.NotNull(selection);
        Assert.Equal(4, selection.Gid.Index);
        string all = string.Join("\n", selection.Rejections);
        Assert.Contains("not bound to a netdev", all, StringComparison.Ordinal);
        Assert.Contains("outside subnet 10.1.0.0/16", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Inactive_ports_and_other_devices_are_skipped_and_overrides_win()
    {
        var down = Device("mlx5_0", PortState.Down, Gid(3, "::ffff:10.0.0.1"));
        var up = Device("mlx5_1", PortState.Active, Gid(1, "fe80::2"), Gid(3, "::ffff:10.0.0.2"));

        var auto = RdmaDeviceSelector.Select([down, up], new RdmaOptions(), out _);
        Assert.NotNull(auto);
        Assert.Equal("mlx5_1", auto.Device);
        Assert.Contains(auto.Rejections, r => r.Contains("mlx5_0 port 1: state Down", StringComparison.Ordinal));

        // The operator's GID index is used even though the automatic rules would refuse it.
        var forced = RdmaDeviceSelector.Select([down, up], new RdmaOptions { Device = "mlx5_1", GidIndex = 1 }, out _);
        Assert.NotNull(forced);
        Assert.Equal(1, forced.Gid.Index);

        Assert.Null(RdmaDeviceSelector.Select([down, up], new RdmaOptions { Device = "mlx5_0" }, out string why));
        Assert.Contains("not active", why, StringComparison.Ordinal);
        Assert.Null(RdmaDeviceSelector.Select([], new RdmaOptions(), out why));
        Assert.Equal("no RDMA devices", why);
        Assert.Null(RdmaDeviceSelector.Select([up], new RdmaOptions { GidIndex = 7 }, out why));
        Assert.Contains("no GID at the configured index 7", why, StringComparison.Ordinal);
    }
}

/// <summary>The selector against the fake's real GID tables.</summary>
[Collection(FakeVerbs.Collection)]
public sealed class RdmaDeviceSelectionOnFakeTests
{
    [Fact]
    public void The_fake_devices_gid_tables_give_the_ipv4_mapped_v2_entry()
    {
        using var scope = FakeVerbs.Use("fake_mlx5_0:netdev=lo:ip=127.0.0.1,fake_mlx5_1:netdev=lo:ip=10.9.0.1:state=down");
        Assert.True(VerbsLibrary.TryOpen(FakeVerbs.LibraryPath, out var verbs, out string problem), problem);
        var selection = RdmaDeviceSelector.Select(verbs.GetDevices(), new RdmaOptions(), out string reason);
        Assert.NotNull(selection);
        Assert.Equal("fake_mlx5_0", selection.Device);
        Assert.Equal(2, selection.Gid.Index);
        Assert.Contains(selection.Rejections, r => r.Contains("link-local", StringComparison.Ordinal));
        Assert.Contains(selection.Rejections, r => r.Contains("fake_mlx5_1 port 1: state Down", StringComparison.Ordinal));

        Assert.Null(RdmaDeviceSelector.Select(verbs.GetDevices(), new RdmaOptions { Subnet = "192.168.0.0/16" }, out reason));
        Assert.Contains("outside subnet", reason, StringComparison.Ordinal);
    }
}
