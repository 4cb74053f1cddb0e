using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Ethtool;

/// <summary>Interrupt coalescing parameters of a netdev: the 22 fields of <c>struct ethtool_coalesce</c> after
/// <c>cmd</c>, in kernel order (the native request embeds this struct, so the layout test checks it too).
/// Fields can also be addressed by their <c>ethtool -C</c> names (<see cref="Keys"/>).</summary>
/// <remarks>Always read, change one field, write back: SET replaces the whole structure. Drivers reject a
/// non-zero field they do not support with EOPNOTSUPP.</remarks>
[StructLayout(LayoutKind.Sequential)]
public record struct EthtoolCoalesce
{
    /// <summary>rx-usecs: µs to delay an RX interrupt after a packet arrives (0: frames only).</summary>
    public uint RxCoalesceUsecs;

    /// <summary>rx-frames: packets received before an RX interrupt (0: time only).</summary>
    public uint RxMaxCoalescedFrames;

    /// <summary>rx-usecs-irq: rx-usecs while an IRQ is being serviced.</summary>
    public uint RxCoalesceUsecsIrq;

    /// <summary>rx-frames-irq: rx-frames while an IRQ is being serviced.</summary>
    public uint RxMaxCoalescedFramesIrq;

    /// <summary>tx-usecs: µs to delay a TX completion interrupt.</summary>
    public uint TxCoalesceUsecs;

    /// <summary>tx-frames: packets sent before a TX completion interrupt.</summary>
    public uint TxMaxCoalescedFrames;

    /// <summary>tx-usecs-irq.</summary>
    public uint TxCoalesceUsecsIrq;

    /// <summary>tx-frames-irq.</summary>
    public uint TxMaxCoalescedFramesIrq;

    /// <summary>stats-block-usecs: statistics block update period.</summary>
    public uint StatsBlockCoalesceUsecs;

    /// <summary>adaptive-rx: 1 when the driver adapts RX moderation to the packet rate (mlx5: DIM).</summary>
    public uint UseAdaptiveRxCoalesce;

    /// <summary>adaptive-tx: 1 when the driver adapts TX moderation to the packet rate.</summary>
    public uint UseAdaptiveTxCoalesce;

    /// <summary>pkt-rate-low: below this rate the *-low values apply.</summary>
    public uint PktRateLow;

    /// <summary>rx-usecs-low.</summary>
    public uint RxCoalesceUsecsLow;

    /// <summary>rx-frames-low.</summary>
    public uint RxMaxCoalescedFramesLow;

    /// <summary>tx-usecs-low.</summary>
    public uint TxCoalesceUsecsLow;

    /// <summary>tx-frames-low.</summary>
    public uint TxMaxCoalescedFramesLow;

    /// <summary>pkt-rate-high: above this rate the *-high values apply.</summary>
    public uint PktRateHigh;

    /// <summary>rx-usecs-high.</summary>
    public uint RxCoalesceUsecsHigh;

    /// <summary>rx-frames-high.</summary>
    public uint RxMaxCoalescedFramesHigh;

    /// <summary>tx-usecs-high.</summary>
    public uint TxCoalesceUsecsHigh;

    /// <summary>tx-frames-high.</summary>
    public uint TxMaxCoalescedFramesHigh;

    /// <summary>sample-interval: adaptive-mode sampling period in seconds.</summary>
    public uint RateSampleInterval;

    // ethtool -C names, in field order: index i names the i-th field above.
    private static readonly string[] s_keys =
    [
        "rx-usecs", "rx-frames", "rx-usecs-irq", "rx-frames-irq",
        "tx-usecs", "tx-frames", "tx-usecs-irq", "tx-frames-irq",
        "stats-block-usecs", "adaptive-rx", "adaptive-tx",
        "pkt-rate-low", "rx-usecs-low", "rx-frames-low", "tx-usecs-low", "tx-frames-low",
        "pkt-rate-high", "rx-usecs-high", "rx-frames-high", "tx-usecs-high", "tx-frames-high",
        "sample-interval",
    ];

    /// <summary>The <c>ethtool -C</c> names of all fields, in structure order.</summary>
    public static IReadOnlyList<string> Keys => s_keys;

    /// <summary>True for a known <c>ethtool -C</c> name.</summary>
    public static bool IsKey(string key) => Array.IndexOf(s_keys, key) >= 0;

    /// <summary>True for the on/off fields (adaptive-rx, adaptive-tx); all others are counts.</summary>
    public static bool IsBooleanKey(string key) => key is "adaptive-rx" or "adaptive-tx";

    /// <summary>The value of the field named <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">Not a coalesce key.</exception>
    public readonly uint Get(string key)
    {
        EthtoolCoalesce copy = this;
        return Fields(ref copy)[Index(key)];
    }

    /// <summary>Sets the field named <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">Not a coalesce key.</exception>
    public void Set(string key, uint value) => Fields(ref this)[Index(key)] = value;

    private static int Index(string key)
    {
        int i = Array.IndexOf(s_keys, key);
        return i >= 0 ? i : throw new ArgumentException($"'{key}' is not an ethtool coalesce parameter", nameof(key));
    }

    // The struct is 22 consecutive uints (sequential, blittable), so it can be viewed as one span.
    private static Span<uint> Fields(ref EthtoolCoalesce c) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<EthtoolCoalesce, uint>(ref c), s_keys.Length);
}
