using System.Runtime.InteropServices;

namespace DataPlane.Interop.Ethtool;

/// <summary>Queue counts of a netdev: the fields of <c>struct ethtool_channels</c> after <c>cmd</c> (read only here).</summary>
[StructLayout(LayoutKind.Sequential)]
public record struct EthtoolChannels
{
    /// <summary>Most RX-only channels.</summary>
    public uint MaxRx;

    /// <summary>Most TX-only channels.</summary>
    public uint MaxTx;

    /// <summary>Most other (link, async) channels.</summary>
    public uint MaxOther;

    /// <summary>Most combined RX/TX channels.</summary>
    public uint MaxCombined;

    /// <summary>RX-only channels in use.</summary>
    public uint RxCount;

    /// <summary>TX-only channels in use.</summary>
    public uint TxCount;

    /// <summary>Other channels in use.</summary>
    public uint OtherCount;

    /// <summary>Combined channels in use (mlx5 uses only these).</summary>
    public uint CombinedCount;
}
