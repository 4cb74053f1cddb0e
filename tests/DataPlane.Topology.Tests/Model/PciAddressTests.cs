using DataPlane.Topology.Model;

namespace DataPlane.Topology.Tests.Model;

public class PciAddressTests
{
    [Fact]
    public void The_sysfs_form_parses_and_prints_both_ways()
    {
        var address = PciAddress.Parse("0000:18:00.0");

        Assert.Equal(new PciAddress(0, 0x18, 0, 0), address);
        Assert.Equal("0000:18:00.0", address.ToString());
        Assert.Equal("00000000:18:00.0", address.ToNvmlString());
    }

    [Fact]
    public void NVML_and_sysfs_forms_of_one_function_are_equal()
    {
        var nvml = PciAddress.Parse("00000000:DB:1F.7");
        var sysfs = PciAddress.Parse("0000:db:1f.7");

        Assert.Equal(sysfs, nvml);
        Assert.Equal("0000:db:1f.7", nvml.ToString());
        Assert.Equal("00000000:DB:1F.7", sysfs.ToNvmlString());
        Assert.Equal(nvml, PciAddress.Parse(nvml.ToNvmlString()));
    }

    [Fact]
    public void A_large_domain_keeps_its_digits()
    {
        var address = PciAddress.Parse("10000:01:00.0");

        Assert.Equal(0x10000u, address.Domain);
        Assert.Equal("10000:01:00.0", address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("18:00.0")]
    [InlineData("0000:18:20.0")]
    [InlineData("0000:18:00.8")]
    [InlineData("0000:1g:00.0")]
    [InlineData("0000:100:00.0")]
    [InlineData("pci0000:15")]
    public void Bad_addresses_are_refused(string text)
    {
        Assert.False(PciAddress.TryParse(text, out _));
        Assert.Throws<FormatException>(() => PciAddress.Parse(text));
    }

    [Fact]
    public void Addresses_order_by_domain_bus_device_function()
    {
        var sorted = new[] { "0000:19:00.0", "0001:00:00.0", "0000:02:00.0", "0000:19:00.1" }.Select(PciAddress.Parse).Order().ToList();

        Assert.Equal(["0000:02:00.0", "0000:19:00.0", "0000:19:00.1", "0001:00:00.0"], sorted.Select(a => a.ToString()));
    }
}
