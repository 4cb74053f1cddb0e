using System.Net;
using DataPlane.Interop.Verbs;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests.Verbs;

/// <summary>Loading libibverbs and reading devices, ports and GID tables, against the fake and the real library.</summary>
[Collection(FakeVerbs.Collection)]
public class VerbsLibraryTests
{
    [Fact]
    public void A_missing_library_is_a_clear_problem_not_an_exception()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir", "libibverbs.so.1");
        Assert.False(VerbsLibrary.TryOpen(path, out var library, out string problem));
        Assert.Null(library);
        Assert.Contains(path, problem, StringComparison.Ordinal);
        Assert.Contains("could not be loaded", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_without_the_verbs_is_not_usable()
    {
        Assert.False(VerbsLibrary.TryOpen("libc.so.6", out _, out string problem));
        Assert.Contains("has no ibv_get_device_list", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_installed_library_without_devices_gives_an_empty_list()
    {
        if (!VerbsLibrary.TryOpen(null, out var library, out string problem))
        {
            // rdma-core is not installed here; the test above covers a missing library.
            Assert.Contains(VerbsLibrary.DefaultLibraryName, problem, StringComparison.Ordinal);
            return;
        }

        Assert.Equal(VerbsLibrary.DefaultLibraryName, library.LibraryPath);
        if (Directory.Exists("/sys/class/infiniband") && Directory.EnumerateFileSystemEntries("/sys/class/infiniband").Any())
        {
            return; // a host with RDMA devices: nothing to assert about emptiness
        }

        Assert.Empty(library.GetDeviceNames());
        Assert.Empty(library.GetDevices());
        var e = Assert.Throws<VerbsException>(() => library.OpenDevice("mlx5_0"));
        Assert.Equal("ENODEV", e.ErrnoName);
    }

    [Fact]
    public void Lists_the_default_fake_device_with_its_port_and_limits()
    {
        using var scope = FakeVerbs.Use();
        var library = VerbsRig.Open();
        Assert.True(library.HasRegMrIova2);
        Assert.True(library.HasQueryGidEx);

        Assert.Equal(["fake_mlx5_0"], library.GetDeviceNames());
        var device = Assert.Single(library.GetDevices());
        Assert.Equal("fake_mlx5_0", device.Name);
        Assert.Null(device.Problem);
        Assert.NotNull(device.Attributes);
        Assert.Equal(1, device.Attributes.PortCount);
        Assert.Equal(16384, device.Attributes.MaxQpWr);
        Assert.Equal(1ul << 40, device.Attributes.MaxMrSize);
        Assert.StartsWith("1.0.0", device.Attributes.FirmwareVersion, StringComparison.Ordinal);

        var port = Assert.Single(device.Ports);
        Assert.Equal(1, port.PortNumber);
        Assert.Equal(PortState.Active, port.State);
        Assert.Equal(Mtu.Mtu4096, port.ActiveMtu);
        Assert.Equal(LinkLayer.Ethernet, port.LinkLayer);
        Assert.Equal(4, port.GidTableLength);
        Assert.Equal(0, port.Lid);
    }

    [Fact]
    public void Reads_the_GID_table_with_types_and_netdev_skipping_empty_slots()
    {
        using var scope = FakeVerbs.Use();
        using var context = VerbsRig.Open().OpenDevice("fake_mlx5_0");
        var gids = context.QueryPort(1).Gids;

        Assert.Equal([0, 1, 2], gids.Select(g => g.Index));
        Assert.True(gids[0].Gid.IsLinkLocal);
        Assert.Equal(GidType.RoceV1, gids[0].Type);
        Assert.Equal(gids[0].Gid, gids[1].Gid);
        Assert.Equal(GidType.RoceV2, gids[1].Type);
        Assert.True(gids[2].Gid.IsIPv4Mapped);
        Assert.Equal(GidType.RoceV2, gids[2].Type);
        Assert.Equal(IPAddress.Loopback, gids[2].Address);
        Assert.Equal("::ffff:127.0.0.1", gids[2].Gid.ToString());
        Assert.Equal(VerbsGid.Parse("127.0.0.1"), gids[2].Gid);
        Assert.All(gids, g => Assert.Equal("lo", g.Netdev));
        Assert.All(gids, g => Assert.Equal(1, g.NetdevIndex)); // lo is always ifindex 1
    }

    [Fact]
    public void A_device_spec_configures_several_devices_ports_and_addresses()
    {
        using var scope = FakeVerbs.Use("fake_mlx5_0:netdev=dp-nonexistent0:ip=10.1.2.3:ip=192.168.7.9:mtu=1024,fake_mlx5_1:state=down,fake_ib0:link=ib");
        var devices = VerbsRig.Open().GetDevices();

        Assert.Equal(["fake_mlx5_0", "fake_mlx5_1", "fake_ib0"], devices.Select(d => d.Name));
        var first = devices[0].Ports[0];
        Assert.Equal(Mtu.Mtu1024, first.ActiveMtu);
        Assert.Equal(
            [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("192.168.7.9")],
            first.Gids.Where(g => g.Gid.IsIPv4Mapped).Select(g => g.Address));
        Assert.All(first.Gids, g => Assert.Null(g.Netdev)); // no such interface on this host
        Assert.Equal(PortState.Down, devices[1].Ports[0].State);
        var ib = devices[2].Ports[0];
        Assert.Equal(LinkLayer.InfiniBand, ib.LinkLayer);
        Assert.Equal(GidType.InfiniBand, Assert.Single(ib.Gids).Type);
        Assert.NotEqual(0, ib.Lid);
    }

    [Fact]
    public void No_devices_is_an_empty_list_and_opening_one_names_the_device()
    {
        using var scope = FakeVerbs.Use(noDevices: true);
        var library = VerbsRig.Open();
        Assert.Empty(library.GetDeviceNames());
        var e = Assert.Throws<VerbsException>(() => library.OpenDevice("fake_mlx5_0"));
        Assert.Equal("ibv_open_device", e.Verb);
        Assert.Equal("ENODEV", e.ErrnoName);
        Assert.Contains("fake_mlx5_0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_query_gid_ex_the_GID_types_come_from_sysfs()
    {
        using var scope = FakeVerbs.Use(gidEx: false);
        string root = Path.Combine(Path.GetTempPath(), $"dataplane-verbs-sysfs-{Environment.ProcessId}");
        try
        {
            string attrs = Path.Combine(root, "class", "infiniband", "fake_mlx5_0", "ports", "1", "gid_attrs");
            Directory.CreateDirectory(Path.Combine(attrs, "types"));
            Directory.CreateDirectory(Path.Combine(attrs, "ndevs"));
            File.WriteAllText(Path.Combine(attrs, "types", "0"), "IB/RoCE v1\n");
            File.WriteAllText(Path.Combine(attrs, "types", "1"), "RoCE v2\n");
            File.WriteAllText(Path.Combine(attrs, "types", "2"), "RoCE v2\n");
            File.WriteAllText(Path.Combine(attrs, "ndevs", "2"), "eth7\n");
            Directory.CreateDirectory(Path.Combine(root, "class", "net", "eth7"));
            File.WriteAllText(Path.Combine(root, "class", "net", "eth7", "ifindex"), "42\n");

            var library = VerbsRig.Open();
            library.SysfsRoot = root;
            using var context = library.OpenDevice("fake_mlx5_0");
            var gids = context.QueryPort(1).Gids;

            Assert.Equal([GidType.RoceV1, GidType.RoceV2, GidType.RoceV2], gids.Select(g => g.Type));
            Assert.Equal([null, null, "eth7"], gids.Select(g => g.Netdev));
            Assert.Equal(42, gids[2].NetdevIndex);
            Assert.Equal(IPAddress.Loopback, gids[2].Address);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Status_text_comes_from_the_library()
    {
        using var scope = FakeVerbs.Use();
        var library = VerbsRig.Open();
        Assert.Equal("remote access error", library.GetStatusText(WorkCompletionStatus.RemoteAccessError));
        Assert.Equal("IBV_WC_REM_ACCESS_ERR", StatusNames.Of(WorkCompletionStatus.RemoteAccessError));
    }

    [Fact]
    public void Gids_round_trip_through_bytes_and_addresses()
    {
        var gid = VerbsGid.Parse("fe80::ff:fe00:1");
        Assert.True(gid.IsLinkLocal);
        Assert.False(gid.IsIPv4Mapped);
        Assert.Equal(gid, new VerbsGid(gid.ToArray()));
        Assert.True(default(VerbsGid).IsZero);
        var v4 = VerbsGid.FromIPAddress(IPAddress.Parse("10.0.0.7"));
        Assert.True(v4.IsIPv4Mapped);
        Assert.Equal(IPAddress.Parse("10.0.0.7"), v4.ToIPAddress());
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], v4.ToArray());
    }
}
