using System.Globalization;
using DataPlane.Interop.Ethtool;

namespace DataPlane.Tuning.Nic;

/// <summary>The NIC part of a tuning profile: coalesce parameters, ring sizes and offload features, each by its
/// ethtool name, with values as strings ("on"/"off" for booleans, decimal numbers, "max" for rings).
/// Validated on construction; every problem is listed in one <see cref="ArgumentException"/>.</summary>
public sealed class NicSettings
{
    /// <summary>Creates settings; keys keep their order, which is the order of the plan.</summary>
    /// <param name="coalesce"><c>ethtool -C</c> keys (<see cref="EthtoolCoalesce.Keys"/>): on/off for adaptive-rx/-tx, else a number.</param>
    /// <param name="ring"><c>ethtool -G</c> keys (rx, rx-mini, rx-jumbo, tx): a number or "max"; above the device maximum is clamped.</param>
    /// <param name="features">Kernel feature names (ETH_SS_FEATURES, e.g. "rx-gro"): on/off.</param>
    /// <exception cref="ArgumentException">Unknown keys, bad values or duplicates; the message lists all of them.</exception>
    public NicSettings(
        IEnumerable<KeyValuePair<string, string>>? coalesce = null,
        IEnumerable<KeyValuePair<string, string>>? ring = null,
        IEnumerable<KeyValuePair<string, string>>? features = null)
    {
        var errors = new List<string>();
        Coalesce = Normalize("coalesce", coalesce, errors, (k, v) =>
            !EthtoolCoalesce.IsKey(k) ? $"'{k}' is not an ethtool coalesce parameter"
            : EthtoolCoalesce.IsBooleanKey(k) ? (TryParseOnOff(v, out _) ? null : $"'{k}' must be on or off, not '{v}'")
            : TryParseCount(v, out _) ? null : $"'{k}' must be a non-negative 32-bit number, not '{v}'");
        Ring = Normalize("ring", ring, errors, (k, v) =>
            !EthtoolRing.IsKey(k) ? $"'{k}' is not a ring (rx, rx-mini, rx-jumbo, tx)"
            : v == "max" || TryParseCount(v, out uint n) && n > 0 ? null : $"ring '{k}' must be a positive number or max, not '{v}'");
        Features = Normalize("feature", features, errors, (k, v) =>
            k.Length == 0 || k.Length >= 32 || k.Any(char.IsWhiteSpace) ? $"'{k}' is not a kernel feature name"
            : TryParseOnOff(v, out _) ? null : $"feature '{k}' must be on or off, not '{v}'");
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid NIC settings: " + string.Join("; ", errors));
        }
    }

    /// <summary>Coalesce key → value, in profile order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Coalesce { get; }

    /// <summary>Ring key → value ("max" or a number), in profile order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Ring { get; }

    /// <summary>Feature name → "on"/"off", in profile order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Features { get; }

    /// <summary>The gpu-host profile: predictable, low added latency on the NICs that carry model traffic.
    /// <list type="bullet">
    /// <item>adaptive-rx off: mlx5 moderates RX adaptively by default (DIM), stretching the interrupt delay as the
    /// packet rate rises, so latency would depend on load; with adaptive mode off the driver uses rx-usecs/rx-frames.</item>
    /// <item>adaptive-tx off: the same for TX completions; mlnx_tune's forwarding profiles also turn it off.</item>
    /// <item>rx-usecs 8: at most 8 µs between the first packet and its interrupt. That is mlx5's own static period,
    /// and it bounds the interrupt rate at 125k/s per queue, unlike 0 (an interrupt per packet at line rate).</item>
    /// <item>rx-frames 32: under a burst the interrupt fires after 32 packets instead of waiting out the 8 µs
    /// (32 MTU frames are ~1 µs at 400 Gb/s). Not 0: 0 would make the time the only trigger.</item>
    /// <item>tx-usecs 8, tx-frames 8: mlnx_tune's zero-loss values; prompt TX completions free ring slots and let TCP
    /// small queues send the next segment sooner.</item>
    /// <item>rings rx/tx max (mlnx_tune sets 8192, the mlx5 maximum): deep rings absorb bursts, and a drop costs far
    /// more latency (a retransmit) than ring depth does; clamped to each device's maximum.</item>
    /// <item>rx-gro on: GRO merges packets at the end of each NAPI poll, so it waits for nothing and cuts per-packet
    /// stack cost for terminated TCP (mlnx_tune turns it off only for IP forwarding).</item>
    /// <item>rx-lro off: hardware LRO holds packets to merge them, loses packet boundaries and breaks forwarding.</item>
    /// <item>tx-nocache-copy off: copying user data into the socket without the cache (mlnx_tune turns this off too)
    /// hurts when the data is sent right away from a hot cache.</item>
    /// </list></summary>
    public static NicSettings LatencyDefaults { get; } = new(
        coalesce:
        [
            new("adaptive-rx", "off"),
            new("adaptive-tx", "off"),
            new("rx-usecs", "8"),
            new("rx-frames", "32"),
            new("tx-usecs", "8"),
            new("tx-frames", "8"),
        ],
        ring:
        [
            new("rx", "max"),
            new("tx", "max"),
        ],
        features:
        [
            new("rx-gro", "on"),
            new("rx-lro", "off"),
            new("tx-nocache-copy", "off"),
        ]);

    internal static bool TryParseOnOff(string value, out bool on)
    {
        on = value == "on";
        return value is "on" or "off";
    }

    internal static bool TryParseCount(string value, out uint count) =>
        uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out count);

    private static List<KeyValuePair<string, string>> Normalize(
        string section, IEnumerable<KeyValuePair<string, string>>? entries, List<string> errors, Func<string, string, string?> check)
    {
        var list = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string key, string value) in entries ?? [])
        {
            string k = (key ?? string.Empty).Trim();
            string v = (value ?? string.Empty).Trim().ToLowerInvariant();
            string? error = check(k, v);
            if (error != null)
            {
                errors.Add(error);
            }
            else if (!seen.Add(k))
            {
                errors.Add($"{section} '{k}' is given twice");
            }
            else
            {
                list.Add(new(k, v));
            }
        }

        return list;
    }
}
