using System.Globalization;
using DataPlane.Interop.Ethtool;
using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Nic;

/// <summary>Tunes interrupt coalescing, ring sizes and offload features of a set of netdevs over SIOCETHTOOL.
/// Kinds: <c>coalesce</c>, <c>ring</c>, <c>feature</c>; Target is the interface name; Key is ethtool's own name.</summary>
/// <remarks>
/// Like tuned's [net] plugin, what a device does not offer is reported (<see cref="ChangeState.Unsupported"/>) and
/// never fatal, and only the keys that change need saving. Every write is read-modify-write of the whole ethtool
/// structure followed by a fresh read, whose value is what <see cref="Apply"/> returns.
/// Coalesce SET is all-or-nothing and the ioctl GET cannot tell which fields a driver supports, so a key the driver
/// rejects is learned on apply (EOPNOTSUPP): apply throws with <see cref="TuningException.Unsupported"/> and later
/// plans of this tuner report that key as Unsupported, as tuned drops it with a warning.
/// </remarks>
public sealed class NicTuner : ITuner
{
    /// <summary>Kind of interrupt-coalescing settings.</summary>
    public const string CoalesceKind = "coalesce";

    /// <summary>Kind of ring-size settings.</summary>
    public const string RingKind = "ring";

    /// <summary>Kind of offload-feature settings.</summary>
    public const string FeatureKind = "feature";

    private static readonly string[] s_kinds = [CoalesceKind, RingKind, FeatureKind];

    private readonly string[] _interfaces;
    private readonly NicSettings _settings;
    private readonly Func<string, INicDevice> _open;
    private readonly HashSet<(string Target, string Key)> _rejectedCoalesce = [];
    private readonly Lock _gate = new();

    /// <summary>Tunes <paramref name="interfaces"/> through the real SIOCETHTOOL binding.</summary>
    public NicTuner(IEnumerable<string> interfaces, NicSettings settings)
        : this(interfaces, settings, EthtoolNicDevice.Open)
    {
    }

    /// <summary>Tunes <paramref name="interfaces"/> through devices from <paramref name="openDevice"/> (one per call,
    /// disposed after use).</summary>
    /// <exception cref="ArgumentException">An interface name that can never be valid.</exception>
    public NicTuner(IEnumerable<string> interfaces, NicSettings settings, Func<string, INicDevice> openDevice)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(openDevice);
        _interfaces = [.. interfaces.Distinct(StringComparer.Ordinal)];
        foreach (string name in _interfaces)
        {
            if (!EthtoolDevice.IsValidInterfaceName(name, out string? reason))
            {
                throw new ArgumentException($"invalid interface name '{name}': {reason}", nameof(interfaces));
            }
        }

        _settings = settings;
        _open = openDevice;
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Kinds => s_kinds;

    /// <inheritdoc/>
    public IReadOnlyList<TuningChange> Plan()
    {
        var plan = new List<TuningChange>();
        foreach (string target in _interfaces)
        {
            INicDevice device;
            try
            {
                device = _open(target);
            }
            catch (EthtoolException e)
            {
                AddAll(plan, target, ChangeState.Error, e.Message);
                continue;
            }

            using (device)
            {
                PlanCoalesce(plan, device, target);
                PlanRing(plan, device, target);
                PlanFeatures(plan, device, target);
            }
        }

        return plan;
    }

    /// <inheritdoc/>
    public string Apply(TuningChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Write(change.Kind, change.Target, change.Key, change.Desired);
    }

    /// <inheritdoc/>
    public void Restore(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _ = Write(entry.Kind, entry.Target, entry.Key, entry.Original);
    }

    private void PlanCoalesce(List<TuningChange> plan, INicDevice device, string target)
    {
        if (_settings.Coalesce.Count == 0)
        {
            return;
        }

        EthtoolCoalesce c;
        bool has;
        try
        {
            has = device.TryGetCoalesce(out c);
        }
        catch (EthtoolException e)
        {
            Add(plan, CoalesceKind, target, _settings.Coalesce, ChangeState.Error, e.Message);
            return;
        }

        if (!has)
        {
            Add(plan, CoalesceKind, target, _settings.Coalesce, ChangeState.Unsupported, "the device does not implement interrupt coalescing (ETHTOOL_GCOALESCE: EOPNOTSUPP)");
            return;
        }

        foreach ((string key, string desired) in _settings.Coalesce)
        {
            string current = FormatCoalesce(key, c.Get(key));
            bool rejected;
            lock (_gate)
            {
                rejected = _rejectedCoalesce.Contains((target, key));
            }

            plan.Add(current == desired ? new(CoalesceKind, target, key, current, desired, ChangeState.InPlace)
                : rejected ? new(CoalesceKind, target, key, current, desired, ChangeState.Unsupported, $"the driver rejected {key} {desired} (ETHTOOL_SCOALESCE: EOPNOTSUPP)")
                : new(CoalesceKind, target, key, current, desired, ChangeState.Differs));
        }
    }

    private void PlanRing(List<TuningChange> plan, INicDevice device, string target)
    {
        if (_settings.Ring.Count == 0)
        {
            return;
        }

        EthtoolRing r;
        bool has;
        try
        {
            has = device.TryGetRing(out r);
        }
        catch (EthtoolException e)
        {
            Add(plan, RingKind, target, _settings.Ring, ChangeState.Error, e.Message);
            return;
        }

        if (!has)
        {
            Add(plan, RingKind, target, _settings.Ring, ChangeState.Unsupported, "the device does not report ring sizes (ETHTOOL_GRINGPARAM: EOPNOTSUPP)");
            return;
        }

        foreach ((string key, string wanted) in _settings.Ring)
        {
            uint max = r.GetMax(key);
            string current = Format(r.GetPending(key));
            if (max == 0)
            {
                plan.Add(new(RingKind, target, key, current, wanted, ChangeState.Unsupported, $"the device has no {key} ring (maximum 0)"));
                continue;
            }

            uint desired = ResolveRing(wanted, max, out string? note);
            string d = Format(desired);
            plan.Add(new(RingKind, target, key, current, d, current == d ? ChangeState.InPlace : ChangeState.Differs, note));
        }
    }

    private void PlanFeatures(List<TuningChange> plan, INicDevice device, string target)
    {
        if (_settings.Features.Count == 0)
        {
            return;
        }

        Dictionary<string, EthtoolFeature> features;
        try
        {
            features = ByName(device.GetFeatures());
        }
        catch (EthtoolException e)
        {
            Add(plan, FeatureKind, target, _settings.Features, ChangeState.Error, e.Message);
            return;
        }

        foreach ((string name, string desired) in _settings.Features)
        {
            if (!features.TryGetValue(name, out EthtoolFeature f))
            {
                plan.Add(new(FeatureKind, target, name, null, desired, ChangeState.Unsupported, $"this kernel has no feature named {name}"));
                continue;
            }

            bool want = desired == "on";
            string current = OnOff(f.Active);
            if (f.Active == want)
            {
                plan.Add(new(FeatureKind, target, name, current, desired, ChangeState.InPlace, f.Fixed ? "fixed" : null));
            }
            else if (f.Fixed)
            {
                plan.Add(new(FeatureKind, target, name, current, desired, ChangeState.Unchangeable, FixedReason(f)));
            }
            else
            {
                plan.Add(new(FeatureKind, target, name, current, desired, ChangeState.Differs,
                    f.Requested == want ? $"requested {desired} but not active: a feature it depends on is off" : null));
            }
        }
    }

    private string Write(string kind, string target, string key, string value)
    {
        if (!EthtoolDevice.IsValidInterfaceName(target, out string? reason))
        {
            throw new TuningException($"{kind} {target} {key}: invalid interface name: {reason}");
        }

        string what = $"{kind} {target} {key}";
        INicDevice device;
        try
        {
            device = _open(target);
        }
        catch (EthtoolException e)
        {
            throw Failed(what, e);
        }

        using (device)
        {
            try
            {
                return kind switch
                {
                    CoalesceKind => WriteCoalesce(device, what, target, key, value),
                    RingKind => WriteRing(device, what, key, value),
                    FeatureKind => WriteFeature(device, what, key, value),
                    _ => throw new TuningException($"{what}: the NIC tuner does not handle kind '{kind}'"),
                };
            }
            catch (EthtoolException e)
            {
                throw Failed(what, e);
            }
        }
    }

    private string WriteCoalesce(INicDevice device, string what, string target, string key, string value)
    {
        if (!EthtoolCoalesce.IsKey(key))
        {
            throw new TuningException($"{what}: not an ethtool coalesce parameter") { Unsupported = true };
        }

        uint v = EthtoolCoalesce.IsBooleanKey(key)
            ? (NicSettings.TryParseOnOff(value, out bool on) ? (on ? 1u : 0u) : throw new TuningException($"{what}: '{value}' is not on or off"))
            : (NicSettings.TryParseCount(value, out uint n) ? n : throw new TuningException($"{what}: '{value}' is not a number"));

        if (!device.TryGetCoalesce(out EthtoolCoalesce c))
        {
            throw new TuningException($"{what}: the device does not implement interrupt coalescing (ETHTOOL_GCOALESCE: EOPNOTSUPP)") { Unsupported = true };
        }

        c.Set(key, v);
        if (device.SetCoalesce(c) == EthtoolSetResult.NotSupported)
        {
            lock (_gate)
            {
                _rejectedCoalesce.Add((target, key));
            }

            throw new TuningException($"{what}: the driver does not support {key} {value} (ETHTOOL_SCOALESCE: EOPNOTSUPP); left as it was") { Unsupported = true };
        }

        return device.TryGetCoalesce(out EthtoolCoalesce after)
            ? FormatCoalesce(key, after.Get(key))
            : throw new TuningException($"{what}: coalescing could not be read back (ETHTOOL_GCOALESCE: EOPNOTSUPP)");
    }

    private static string WriteRing(INicDevice device, string what, string key, string value)
    {
        if (!EthtoolRing.IsKey(key))
        {
            throw new TuningException($"{what}: not an ethtool ring") { Unsupported = true };
        }

        if (value != "max" && !NicSettings.TryParseCount(value, out _))
        {
            throw new TuningException($"{what}: '{value}' is not a number or max");
        }

        if (!device.TryGetRing(out EthtoolRing r))
        {
            throw new TuningException($"{what}: the device does not report ring sizes (ETHTOOL_GRINGPARAM: EOPNOTSUPP)") { Unsupported = true };
        }

        uint max = r.GetMax(key);
        if (max == 0)
        {
            throw new TuningException($"{what}: the device has no {key} ring (maximum 0)") { Unsupported = true };
        }

        r.SetPending(key, ResolveRing(value, max, out _));
        if (device.SetRing(r) == EthtoolSetResult.NotSupported)
        {
            throw new TuningException($"{what}: the device does not let ring sizes change (ETHTOOL_SRINGPARAM: EOPNOTSUPP)") { Unsupported = true };
        }

        return device.TryGetRing(out EthtoolRing after)
            ? Format(after.GetPending(key))
            : throw new TuningException($"{what}: rings could not be read back (ETHTOOL_GRINGPARAM: EOPNOTSUPP)");
    }

    private static string WriteFeature(INicDevice device, string what, string name, string value)
    {
        if (!NicSettings.TryParseOnOff(value, out bool want))
        {
            throw new TuningException($"{what}: '{value}' is not on or off");
        }

        if (!ByName(device.GetFeatures()).TryGetValue(name, out EthtoolFeature f))
        {
            throw new TuningException($"{what}: this kernel has no feature named {name}") { Unsupported = true };
        }

        if (f.Active == want)
        {
            return OnOff(f.Active);
        }

        if (f.Fixed)
        {
            // Never attempted: the kernel would ignore it (ETHTOOL_F_UNSUPPORTED) or refuse it (EINVAL).
            throw new TuningException($"{what}: {FixedReason(f)}; not changed");
        }

        EthtoolFeatureChange outcome = device.SetFeatures(new Dictionary<string, bool>(StringComparer.Ordinal) { [name] = want });
        EthtoolFeature after = ByName(device.GetFeatures()).GetValueOrDefault(name);
        if (after.Name == null)
        {
            throw new TuningException($"{what}: the feature disappeared after the change");
        }

        if (after.Active != want)
        {
            throw (outcome & EthtoolFeatureChange.Unsupported) != 0
                ? new TuningException($"{what}: the kernel ignored the change (ETHTOOL_F_UNSUPPORTED); it is still {OnOff(after.Active)}")
                : new TuningException($"{what}: the kernel recorded {value} as wanted (ETHTOOL_F_WISH) but did not activate it, " +
                    $"usually because a feature it depends on is off; it is still {OnOff(after.Active)}");
        }

        return OnOff(after.Active);
    }

    private static uint ResolveRing(string wanted, uint max, out string? note)
    {
        if (wanted == "max")
        {
            note = $"max: the device maximum is {Format(max)}";
            return max;
        }

        uint n = NicSettings.TryParseCount(wanted, out uint parsed) ? parsed : max;
        if (n > max)
        {
            note = $"clamped from {wanted} to the device maximum {Format(max)}";
            return max;
        }

        note = null;
        return n;
    }

    private static TuningException Failed(string what, EthtoolException e) =>
        new($"{what}: {e.Message}", e) { Unsupported = e.IsNotSupported || e.IsInvalidArgument };

    private static Dictionary<string, EthtoolFeature> ByName(IReadOnlyList<EthtoolFeature> features)
    {
        var map = new Dictionary<string, EthtoolFeature>(StringComparer.Ordinal);
        foreach (EthtoolFeature f in features)
        {
            _ = map.TryAdd(f.Name, f);
        }

        return map;
    }

    private static string FixedReason(EthtoolFeature f) =>
        f.NeverChanged ? "fixed: the kernel never lets this feature change" : "fixed: the driver does not let this feature change";

    private static string FormatCoalesce(string key, uint value) =>
        EthtoolCoalesce.IsBooleanKey(key) ? OnOff(value != 0) : Format(value);

    private static string Format(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static string OnOff(bool on) => on ? "on" : "off";

    private static void Add(List<TuningChange> plan, string kind, string target, IReadOnlyList<KeyValuePair<string, string>> keys, ChangeState state, string note)
    {
        foreach ((string key, string desired) in keys)
        {
            plan.Add(new(kind, target, key, null, desired, state, note));
        }
    }

    private void AddAll(List<TuningChange> plan, string target, ChangeState state, string note)
    {
        Add(plan, CoalesceKind, target, _settings.Coalesce, state, note);
        Add(plan, RingKind, target, _settings.Ring, state, note);
        Add(plan, FeatureKind, target, _settings.Features, state, note);
    }
}
