namespace DataPlane.Tuning.Plans;

/// <summary>What a tuner found for one setting when it compared the host with the profile.</summary>
public enum ChangeState
{
    /// <summary>Already as the profile wants: nothing to do, no drift.</summary>
    InPlace,

    /// <summary>Differs from the profile: <c>apply</c> changes it; <c>verify</c> reports it as drift.</summary>
    Differs,

    /// <summary>The device or kernel does not offer this setting (EOPNOTSUPP, missing file, unknown feature): reported, never fatal.</summary>
    Unsupported,

    /// <summary>The setting exists but cannot be changed (fixed feature, kernel-managed IRQ affinity): reported, never fatal.</summary>
    Unchangeable,

    /// <summary>Reading it failed for another reason (permission, I/O): reported with the reason.</summary>
    Error,

    /// <summary>A boot-time setting already written to the boot configuration but not yet in the running kernel: takes
    /// effect at the next boot. <c>apply</c> has nothing to do; <c>verify</c> reports it, as the host is not yet as wanted.</summary>
    PendingReboot,
}

/// <summary>One setting in a plan: where it lives, what it is now, what the profile wants.</summary>
/// <param name="Kind">The tuner's kind, e.g. "sysctl", "coalesce", "ring", "feature", "irq".</param>
/// <param name="Target">What the setting belongs to: "kernel" for sysctls, the netdev for NIC settings, "irq/N" for IRQs.</param>
/// <param name="Key">The setting, e.g. "net.core.somaxconn", "rx-usecs", "rx-gro", "smp_affinity_list".</param>
/// <param name="Current">The value read from the host (null when it could not be read).</param>
/// <param name="Desired">The value the profile asks for.</param>
/// <param name="State">The comparison result.</param>
/// <param name="Note">Why, for anything but <see cref="ChangeState.InPlace"/>/<see cref="ChangeState.Differs"/>, or extra context.</param>
public sealed record TuningChange(string Kind, string Target, string Key, string? Current, string Desired, ChangeState State, string? Note = null)
{
    /// <summary>"kind target key", unique within a plan.</summary>
    public string Id => $"{Kind} {Target} {Key}";

    /// <summary>What the rollback snapshot keeps for this setting when it is not <see cref="Current"/>: a boot-time
    /// change shows the running kernel's value but restores the file it writes. Null: <see cref="Current"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Original { get; init; }

    /// <summary>True for a setting that takes effect only at the next boot (a kernel command-line argument).</summary>
    public bool BootTime { get; init; }
}

/// <summary>The saved original of a setting that apply changed; rollback writes <see cref="Original"/> back.</summary>
public sealed record SnapshotEntry(string Kind, string Target, string Key, string Original);

/// <summary>One area of host tuning. A tuner reads the host, compares it with its profile, changes one setting
/// on request and restores a saved original. It never changes anything from <see cref="Plan"/>.</summary>
public interface ITuner
{
    /// <summary>The kinds of <see cref="TuningChange"/> this tuner produces and restores.</summary>
    IReadOnlyCollection<string> Kinds { get; }

    /// <summary>Reads the host and returns one entry per setting of the profile. Changes nothing.</summary>
    IReadOnlyList<TuningChange> Plan();

    /// <summary>Sets one setting that <see cref="Plan"/> reported as <see cref="ChangeState.Differs"/>, and returns the value now in
    /// place. Throws <see cref="TuningException"/> when the host refuses.</summary>
    string Apply(TuningChange change);

    /// <summary>Writes a saved original back. Throws <see cref="TuningException"/> when the host refuses.</summary>
    void Restore(SnapshotEntry entry);
}

/// <summary>A tuner whose changes outlive the rollback snapshot: a file under /etc that a reboot keeps while the
/// snapshot, on tmpfs, is gone. Rollback restores its leftovers even without a snapshot entry for them.</summary>
public interface IPersistentTuner : ITuner
{
    /// <summary>Changes of an earlier apply that are still on the host and that no snapshot entry covers, as entries
    /// whose restore undoes them (e.g. a drop-in file this program wrote, with the original "absent").</summary>
    /// <param name="covered">Entries the snapshot holds; leftovers they already cover are not returned.</param>
    IReadOnlyList<SnapshotEntry> Leftovers(IReadOnlyCollection<SnapshotEntry> covered);
}

/// <summary>A setting could not be read or written; the message names it and the reason (errno name where there is one).</summary>
public sealed class TuningException : Exception
{
    public TuningException(string message)
        : base(message)
    {
    }

    public TuningException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public TuningException()
    {
    }

    /// <summary>True when the host says the setting does not exist or is not offered (EOPNOTSUPP, ENOENT, EINVAL on ethtool).</summary>
    public bool Unsupported { get; init; }
}
