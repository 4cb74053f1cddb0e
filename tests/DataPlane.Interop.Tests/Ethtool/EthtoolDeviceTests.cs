using DataPlane.Interop.Ethtool;

namespace DataPlane.Interop.Tests.Ethtool;

/// <summary>Real SIOCETHTOOL requests against the loopback interface, which every Linux network namespace has.
/// Reads need no privileges; no test here changes a setting of the host (the only SET targets an operation
/// lo does not implement).</summary>
public class EthtoolDeviceTests
{
    [Fact]
    public void Loopback_features_are_read_by_name()
    {
        using var lo = EthtoolDevice.Open("lo");
        IReadOnlyList<EthtoolFeature> features = lo.GetFeatures();
        var byName = features.ToDictionary(f => f.Name);

        // Names come from the kernel's ETH_SS_FEATURES string set; unused bit positions are left out.
        Assert.DoesNotContain(features, f => f.Name.Length == 0);
        Assert.Contains("rx-gro", byName.Keys);
        Assert.Contains("tx-tcp-segmentation", byName.Keys);
        Assert.Contains("rx-lro", byName.Keys);

        // lo is always in loopback mode and nobody may turn that off: active and fixed.
        EthtoolFeature loopback = byName["loopback"];
        Assert.True(loopback.Active);
        Assert.True(loopback.Fixed);

        // lo offers GSO to user space (it is in its hw_features), so it is not fixed.
        Assert.True(byName["tx-generic-segmentation"].Available);
        Assert.False(byName["tx-generic-segmentation"].Fixed);

        // Bit indexes are distinct and index into the kernel's table.
        Assert.Equal(features.Count, features.Select(f => f.Index).Distinct().Count());
    }

    [Fact]
    public void Loopback_has_no_coalescing_rings_or_driver_info_and_says_so_as_a_value()
    {
        using var lo = EthtoolDevice.Open("lo");
        Assert.False(lo.TryGetCoalesce(out EthtoolCoalesce coalesce));
        Assert.Equal(default, coalesce);
        Assert.False(lo.TryGetRing(out _));
        Assert.False(lo.TryGetChannels(out _));
        Assert.False(lo.TryGetDriverInfo(out EthtoolDriverInfo? info));
        Assert.Null(info);
    }

    [Fact]
    public void A_set_without_CAP_NET_ADMIN_names_EPERM_and_the_command()
    {
        using var lo = EthtoolDevice.Open("lo");
        // lo implements no coalescing, so with CAP_NET_ADMIN this SET is refused as "not supported" and changes
        // nothing; without it the kernel refuses first, with EPERM.
        EthtoolException? error = null;
        EthtoolSetResult result = EthtoolSetResult.Applied;
        try
        {
            result = lo.SetCoalesce(default);
        }
        catch (EthtoolException e)
        {
            error = e;
        }

        if (error is null)
        {
            Assert.True(HasNetAdmin(), "a SET succeeded without CAP_NET_ADMIN");
            Assert.Equal(EthtoolSetResult.NotSupported, result);
        }
        else
        {
            Assert.True(error.IsPermissionDenied, error.Message);
            Assert.Equal("ETHTOOL_SCOALESCE", error.Command);
            Assert.Equal("EPERM", error.ErrnoName);
            Assert.Contains("ETHTOOL_SCOALESCE", error.Message, StringComparison.Ordinal);
            Assert.Contains("EPERM", error.Message, StringComparison.Ordinal);
            Assert.Contains("CAP_NET_ADMIN", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Errno_becomes_a_message_that_names_the_command_and_the_errno()
    {
        var eperm = new EthtoolException("ETHTOOL_SFEATURES", "eth0", 1);
        Assert.Equal("ETHTOOL_SFEATURES on 'eth0': EPERM (permission denied: changing NIC settings needs CAP_NET_ADMIN)", eperm.Message);
        Assert.True(eperm.IsPermissionDenied);

        var enodev = new EthtoolException("ETHTOOL_GCOALESCE", "eth9", 19);
        Assert.Contains("ENODEV (no such interface)", enodev.Message, StringComparison.Ordinal);
        Assert.True(enodev.IsNoSuchInterface);

        Assert.Contains("errno 4242", new EthtoolException("ETHTOOL_GRINGPARAM", "x", 4242).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_interface_is_reported_as_ENODEV_by_every_request()
    {
        using var dev = EthtoolDevice.Open("dpnosuch0");
        EthtoolException features = Assert.Throws<EthtoolException>(() => dev.GetFeatures());
        Assert.True(features.IsNoSuchInterface);
        Assert.Equal("ETHTOOL_GSSET_INFO", features.Command);
        Assert.Contains("no such interface", features.Message, StringComparison.Ordinal);
        Assert.Contains("dpnosuch0", features.Message, StringComparison.Ordinal);

        // ENODEV is not "not supported": the Try methods throw rather than answer false.
        Assert.Equal("ETHTOOL_GCOALESCE", Assert.Throws<EthtoolException>(() => dev.TryGetCoalesce(out _)).Command);
        Assert.Equal("ENODEV", Assert.Throws<EthtoolException>(() => dev.TryGetRing(out _)).ErrnoName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("eth/0")]
    [InlineData("eth:0")]
    [InlineData("eth 0")]
    [InlineData("eth\t0")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("abcdefghijklmnop")]          // 16 bytes: no room for the NUL in IFNAMSIZ 16
    [InlineData("ééééééééé")]                 // 9 characters, 18 UTF-8 bytes
    public void Bad_interface_names_are_rejected_before_any_system_call(string name)
    {
        Assert.False(EthtoolDevice.IsValidInterfaceName(name, out string? reason));
        Assert.False(string.IsNullOrEmpty(reason));
        ArgumentException e = Assert.Throws<ArgumentException>(() => EthtoolDevice.Open(name));
        Assert.Equal("interfaceName", e.ParamName);
    }

    [Fact]
    public void A_fifteen_byte_name_is_the_longest_accepted()
    {
        Assert.True(EthtoolDevice.IsValidInterfaceName("abcdefghijklmno", out _));
        using var dev = EthtoolDevice.Open("abcdefghijklmno");
        Assert.True(Assert.Throws<EthtoolException>(() => dev.GetFeatures()).IsNoSuchInterface);
    }

    [Fact]
    public void A_disposed_device_refuses_requests()
    {
        var lo = EthtoolDevice.Open("lo");
        lo.Dispose();
        Assert.Throws<ObjectDisposedException>(() => lo.GetFeatures());
    }

    // CAP_NET_ADMIN is bit 12 of the effective capability set (linux/capability.h).
    private static bool HasNetAdmin()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return line != null && (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 12)) != 0;
    }
}
