using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Ethtool;

/// <summary>Ring sizes of a netdev: the fields of <c>struct ethtool_ringparam</c> after <c>cmd</c>.
/// Rings are addressed by their <c>ethtool -G</c> names (<see cref="Keys"/>): rx, rx-mini, rx-jumbo, tx.
/// A maximum of 0 means the device has no such ring.</summary>
[StructLayout(LayoutKind.Sequential)]
public record struct EthtoolRing
{
    /// <summary>Largest RX ring the device accepts.</summary>
    public uint RxMaxPending;

    /// <summary>Largest RX mini ring.</summary>
    public uint RxMiniMaxPending;

    /// <summary>Largest RX jumbo ring.</summary>
    public uint RxJumboMaxPending;

    /// <summary>Largest TX ring.</summary>
    public uint TxMaxPending;

    /// <summary>Current RX ring size.</summary>
    public uint RxPending;

    /// <summary>Current RX mini ring size.</summary>
    public uint RxMiniPending;

    /// <summary>Current RX jumbo ring size.</summary>
    public uint RxJumboPending;

    /// <summary>Current TX ring size.</summary>
    public uint TxPending;

    private static readonly string[] s_keys = ["rx", "rx-mini", "rx-jumbo", "tx"];

    /// <summary>The <c>ethtool -G</c> ring names.</summary>
    public static IReadOnlyList<string> Keys => s_keys;

    /// <summary>True for a known ring name.</summary>
    public static bool IsKey(string key) => Array.IndexOf(s_keys, key) >= 0;

    /// <summary>The current size of the ring named <paramref name="key"/>.</summary>
    public readonly uint GetPending(string key)
    {
        EthtoolRing copy = this;
        return Fields(ref copy)[s_keys.Length + Index(key)];
    }

    /// <summary>The largest size the device accepts for the ring named <paramref name="key"/>.</summary>
    public readonly uint GetMax(string key)
    {
        EthtoolRing copy = this;
        return Fields(ref copy)[Index(key)];
    }

    /// <summary>Sets the size of the ring named <paramref name="key"/>.</summary>
    public void SetPending(string key, uint value) => Fields(ref this)[s_keys.Length + Index(key)] = value;

    private static int Index(string key)
    {
        int i = Array.IndexOf(s_keys, key);
        return i >= 0 ? i : throw new ArgumentException($"'{key}' is not an ethtool ring name", nameof(key));
    }

    // Four maxima then four current sizes, in the order of s_keys.
    private static Span<uint> Fields(ref EthtoolRing r) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<EthtoolRing, uint>(ref r), 2 * s_keys.Length);
}
