using DataPlane.Interop.Ethtool;
using DataPlane.Tuning.Nic;

namespace DataPlane.Tuning.Tests.Nic;

/// <summary>A fake netdev that answers at the ioctl boundary the way the kernel's ethtool core and a driver do, so the
/// tuner's real logic runs against driver behaviour, not against a mock of our own code. It models:
/// <list type="bullet">
/// <item>ETHTOOL_SCOALESCE: a non-zero field outside the driver's supported_coalesce_params → EOPNOTSUPP, nothing changed
/// (net/ethtool/ioctl.c, ethtool_set_coalesce_supported); a device without coalesce ops → EOPNOTSUPP on GET and SET.</item>
/// <item>ETHTOOL_SRINGPARAM: a size above its maximum → EINVAL (ethtool core check); no ring ops → EOPNOTSUPP.</item>
/// <item>ETHTOOL_SFEATURES: a never-changing feature in valid → EINVAL; a feature not in hw_features → ignored with
/// ETHTOOL_F_UNSUPPORTED; a wanted feature whose dependency is off stays inactive → ETHTOOL_F_WISH (the kernel drops
/// TSO when scatter-gather is off, netdev_fix_features).</item>
/// </list>
/// Profiles: <see cref="Mlx5"/> (coalesce usecs/frames/adaptive, 8192-entry rings, LRO and HW-GRO available) and
/// <see cref="Veth"/> (as veth on Linux 6.18 reports: no coalesce or ring ops, GRO available and off, LRO fixed).
/// State survives open/dispose, as a real device's does.</summary>
internal sealed class FakeNic
{
    private const int EINVAL = 22;
    private const int ENODEV = 19;

    private static readonly string[] s_coalesceMlx5 = ["rx-usecs", "rx-frames", "tx-usecs", "tx-frames", "adaptive-rx", "adaptive-tx"];

    private readonly List<FakeFeature> _features = [];
    private readonly Dictionary<string, string> _dependsOn = new(StringComparer.Ordinal);
    private HashSet<string>? _coalesceSupported;
    private EthtoolCoalesce _coalesce;
    private EthtoolRing? _ring;

    private FakeNic(string name) => Name = name;

    public string Name { get; }

    public bool Exists { get; set; } = true;

    public int Opens { get; private set; }

    public int Disposes { get; private set; }

    public int CoalesceSets { get; private set; }

    public int RingSets { get; private set; }

    public int FeatureSets { get; private set; }

    public EthtoolCoalesce Coalesce => _coalesce;

    public EthtoolRing Ring => _ring ?? default;

    /// <summary>A ConnectX-class mlx5 port: adaptive moderation on by default, rings 1024 of 8192.</summary>
    public static FakeNic Mlx5(string name)
    {
        var nic = new FakeNic(name)
        {
            _coalesceSupported = [.. s_coalesceMlx5],
            _coalesce = new EthtoolCoalesce
            {
                UseAdaptiveRxCoalesce = 1,
                UseAdaptiveTxCoalesce = 1,
                RxCoalesceUsecs = 8,
                RxMaxCoalescedFrames = 128,
                TxCoalesceUsecs = 16,
                TxMaxCoalescedFrames = 32,
            },
            _ring = new EthtoolRing { RxMaxPending = 8192, TxMaxPending = 8192, RxPending = 1024, TxPending = 1024 },
        };
        nic.AddFeature("tx-scatter-gather", available: true, on: true);
        nic.AddFeature("highdma", available: false, on: true);
        nic.AddFeature("vlan-challenged", available: false, on: false, neverChanged: true);
        nic.AddFeature("tx-generic-segmentation", available: true, on: true);
        nic.AddFeature(string.Empty, available: false, on: false);  // an unused bit position
        nic.AddFeature("rx-gro", available: true, on: true);
        nic.AddFeature("rx-lro", available: true, on: false);
        nic.AddFeature("tx-tcp-segmentation", available: true, on: true);
        nic.AddFeature("tx-nocache-copy", available: true, on: false);
        nic.AddFeature("rx-gro-hw", available: true, on: false);
        nic._dependsOn["tx-tcp-segmentation"] = "tx-scatter-gather";
        return nic;
    }

    /// <summary>A veth end: no coalescing or rings over the ioctl, GRO available but off, LRO fixed off.</summary>
    public static FakeNic Veth(string name)
    {
        var nic = new FakeNic(name);
        nic.AddFeature("tx-scatter-gather", available: true, on: true);
        nic.AddFeature("vlan-challenged", available: false, on: false, neverChanged: true);
        nic.AddFeature("tx-generic-segmentation", available: true, on: true);
        nic.AddFeature("rx-gro", available: true, on: false);
        nic.AddFeature("rx-lro", available: false, on: false);
        nic.AddFeature("tx-tcp-segmentation", available: true, on: true);
        nic.AddFeature("tx-nocache-copy", available: true, on: false);
        nic._dependsOn["tx-tcp-segmentation"] = "tx-scatter-gather";
        return nic;
    }

    /// <summary>Sets what user space last asked for, then lets the kernel recompute what is active.</summary>
    public void Want(string feature, bool on)
    {
        _features.Single(f => f.Name == feature).Wanted = on;
        Recompute();
    }

    public EthtoolFeature Feature(string name) => Snapshot().Single(f => f.Name == name);

    /// <summary>Everything the device holds, for exact before/after comparison.</summary>
    public string State() =>
        $"{_coalesce} {Ring} " + string.Join(",", _features.Select(f => $"{f.Name}:{f.Wanted}/{f.Active}"));

    public INicDevice Open()
    {
        Opens++;
        return new Handle(this);
    }

    private void AddFeature(string name, bool available, bool on, bool neverChanged = false) =>
        _features.Add(new FakeFeature(name, _features.Count, available, neverChanged) { Wanted = on, Active = on });

    private void Recompute()
    {
        foreach (FakeFeature f in _features.Where(f => f.Available))
        {
            f.Active = f.Wanted && (!_dependsOn.TryGetValue(f.Name, out string? dep) || _features.Single(d => d.Name == dep).Active);
        }
    }

    private List<EthtoolFeature> Snapshot() =>
        [.. _features.Where(f => f.Name.Length > 0).Select(f => new EthtoolFeature(f.Name, f.Index, f.Available, f.Wanted, f.Active, f.NeverChanged))];

    private void CheckExists(string command)
    {
        if (!Exists)
        {
            throw new EthtoolException(command, Name, ENODEV);
        }
    }

    private sealed class FakeFeature(string name, int index, bool available, bool neverChanged)
    {
        public string Name { get; } = name;

        public int Index { get; } = index;

        public bool Available { get; } = available;

        public bool NeverChanged { get; } = neverChanged;

        public bool Wanted { get; set; }

        public bool Active { get; set; }
    }

    private sealed class Handle(FakeNic nic) : INicDevice
    {
        public string Name => nic.Name;

        public bool TryGetCoalesce(out EthtoolCoalesce coalesce)
        {
            nic.CheckExists("ETHTOOL_GCOALESCE");
            coalesce = nic._coalesceSupported is null ? default : nic._coalesce;
            return nic._coalesceSupported is not null;
        }

        public EthtoolSetResult SetCoalesce(in EthtoolCoalesce coalesce)
        {
            nic.CheckExists("ETHTOOL_SCOALESCE");
            nic.CoalesceSets++;
            if (nic._coalesceSupported is null)
            {
                return EthtoolSetResult.NotSupported;
            }

            foreach (string key in EthtoolCoalesce.Keys)
            {
                if (coalesce.Get(key) != 0 && !nic._coalesceSupported.Contains(key))
                {
                    return EthtoolSetResult.NotSupported;
                }
            }

            nic._coalesce = coalesce;
            return EthtoolSetResult.Applied;
        }

        public bool TryGetRing(out EthtoolRing ring)
        {
            nic.CheckExists("ETHTOOL_GRINGPARAM");
            ring = nic._ring ?? default;
            return nic._ring.HasValue;
        }

        public EthtoolSetResult SetRing(in EthtoolRing ring)
        {
            nic.CheckExists("ETHTOOL_SRINGPARAM");
            nic.RingSets++;
            if (nic._ring is not EthtoolRing current)
            {
                return EthtoolSetResult.NotSupported;
            }

            foreach (string key in EthtoolRing.Keys)
            {
                if (ring.GetPending(key) > current.GetMax(key))
                {
                    throw new EthtoolException("ETHTOOL_SRINGPARAM", nic.Name, EINVAL);
                }
            }

            // The maxima are the device's; only the sizes change.
            EthtoolRing next = current;
            foreach (string key in EthtoolRing.Keys)
            {
                next.SetPending(key, ring.GetPending(key));
            }

            nic._ring = next;
            return EthtoolSetResult.Applied;
        }

        public IReadOnlyList<EthtoolFeature> GetFeatures()
        {
            nic.CheckExists("ETHTOOL_GSSET_INFO");
            return nic.Snapshot();
        }

        public EthtoolFeatureChange SetFeatures(IReadOnlyDictionary<string, bool> changes)
        {
            nic.CheckExists("ETHTOOL_GSSET_INFO");
            nic.FeatureSets++;
            var targets = changes.Select(c => (Feature: nic._features.FirstOrDefault(f => f.Name.Length > 0 && f.Name == c.Key)
                ?? throw new ArgumentException($"no feature named '{c.Key}'", nameof(changes)), On: c.Value)).ToList();
            if (targets.Any(t => t.Feature.NeverChanged))
            {
                throw new EthtoolException("ETHTOOL_SFEATURES", nic.Name, EINVAL);
            }

            EthtoolFeatureChange result = EthtoolFeatureChange.Done;
            foreach ((FakeFeature f, bool on) in targets)
            {
                if (!f.Available)
                {
                    result |= EthtoolFeatureChange.Unsupported;
                    continue;
                }

                f.Wanted = on;
            }

            nic.Recompute();
            if (targets.Any(t => t.Feature.Available && t.Feature.Wanted != t.Feature.Active))
            {
                result |= EthtoolFeatureChange.Wish;
            }

            return result;
        }

        public void Dispose() => nic.Disposes++;
    }
}
