using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DataPlane.Topology.Model;

/// <summary>A PCI function address. Printed in sysfs form (<c>0000:18:00.0</c>, 4-digit lower-case domain);
/// parses both that and NVML's form (<c>00000000:18:00.0</c>, 8-digit upper-case domain), so addresses from
/// NVML and sysfs compare equal.</summary>
public readonly record struct PciAddress(uint Domain, byte Bus, byte Device, byte Function) : IComparable<PciAddress>
{
    public static PciAddress Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not a PCI address (expected DDDD:BB:DD.F)");

    public static bool TryParse([NotNullWhen(true)] string? text, out PciAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim().AsSpan();
        int c1 = s.IndexOf(':');
        int c2 = c1 < 0 ? -1 : s[(c1 + 1)..].IndexOf(':') + c1 + 1;
        int dot = s.LastIndexOf('.');
        if (c1 <= 0 || c2 <= c1 || dot <= c2)
        {
            return false;
        }

        if (!uint.TryParse(s[..c1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint domain)
            || !byte.TryParse(s[(c1 + 1)..c2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte bus)
            || !byte.TryParse(s[(c2 + 1)..dot], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte device)
            || !byte.TryParse(s[(dot + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte function)
            || device > 0x1f || function > 7)
        {
            return false;
        }

        address = new PciAddress(domain, bus, device, function);
        return true;
    }

    /// <summary>The sysfs form, e.g. <c>0000:18:00.0</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    /// <summary>NVML's form, e.g. <c>00000000:18:00.0</c> (the <c>busId</c> field of nvmlPciInfo_t).</summary>
    public string ToNvmlString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Domain:X8}:{Bus:X2}:{Device:X2}.{Function:X1}");

    public int CompareTo(PciAddress other) =>
        (Domain, Bus, Device, Function).CompareTo((other.Domain, other.Bus, other.Device, other.Function));
}
