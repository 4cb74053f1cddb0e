namespace DataPlane.Tuning.Plans;

/// <summary>What happened to one setting during apply or rollback.</summary>
public enum OutcomeState
{
    /// <summary>Changed (apply) or restored (rollback).</summary>
    Done,

    /// <summary>Nothing to do: already in place.</summary>
    Skipped,

    /// <summary>The host does not offer the setting; reported, not fatal.</summary>
    Unsupported,

    /// <summary>The host refused; the message says why.</summary>
    Failed,
}

/// <summary>One line of an apply or rollback report.</summary>
public sealed record TuningOutcome(string Kind, string Target, string Key, string? Before, string? After, OutcomeState State, string? Note);

/// <summary>The result of apply or rollback: every setting touched or skipped, and what stopped it, if anything.</summary>
public sealed record TuningReport(IReadOnlyList<TuningOutcome> Outcomes)
{
    public int Count(OutcomeState state) => Outcomes.Count(o => o.State == state);

    /// <summary>True when nothing failed.</summary>
    public bool Succeeded => Count(OutcomeState.Failed) == 0;

    /// <summary>True when a boot-time change was written or removed, or waits for a reboot: the running kernel is not as
    /// the boot configuration says until the host reboots.</summary>
    public bool RebootRequired { get; init; }
}

/// <summary>Plan, apply, verify and rollback over a set of tuners, with the rollback snapshot.
/// <list type="bullet">
/// <item>Plan reads the host through every tuner and changes nothing.</item>
/// <item>Apply records each setting's original in the snapshot, durably, before changing it; an earlier snapshot's
/// originals are kept (the first original is the true one), so repeated applies still roll back to the host as it was.</item>
/// <item>Verify is a plan whose differences are drift.</item>
/// <item>Rollback writes every saved original back, newest first, and removes the snapshot once all are restored.</item>
/// <item>An apply that did not finish (the snapshot says incomplete) is rolled back by <see cref="RecoverInterrupted"/>,
/// which the daemon calls at start and which apply calls first.</item>
/// </list></summary>
public sealed class TuningEngine
{
    private readonly IReadOnlyList<ITuner> _tuners;
    private readonly SnapshotStore _store;
    private readonly string _profile;

    public TuningEngine(string profile, IReadOnlyList<ITuner> tuners, SnapshotStore store)
    {
        _profile = profile;
        _tuners = tuners;
        _store = store;
    }

    /// <summary>The snapshot store in use.</summary>
    public SnapshotStore Store => _store;

    /// <summary>Every setting of the profile as the host has it now. Changes nothing.</summary>
    public IReadOnlyList<TuningChange> Plan() => _tuners.SelectMany(t => t.Plan()).ToList();

    /// <summary>Settings that differ from the profile (drift), and boot-time settings written but waiting for a reboot.
    /// Unsupported and unchangeable settings are not drift.</summary>
    public IReadOnlyList<TuningChange> Verify() => Plan().Where(c => c.State is ChangeState.Differs or ChangeState.Error or ChangeState.PendingReboot).ToList();

    /// <summary>Rolls back an interrupted apply; returns null when there was none.</summary>
    public TuningReport? RecoverInterrupted()
    {
        var snapshot = _store.Load();
        return snapshot is { Complete: false } ? Rollback(leftovers: false) : null;
    }

    /// <summary>Changes every setting the plan reports as different. A setting the host refuses is reported and the
    /// others still apply (as sysctl --system and tuned do).</summary>
    public TuningReport Apply()
    {
        var recovered = RecoverInterrupted();
        var outcomes = new List<TuningOutcome>();
        if (recovered is { Succeeded: false })
        {
            return recovered with { Outcomes = [.. recovered.Outcomes, new TuningOutcome("snapshot", _store.Path, "rollback", null, null, OutcomeState.Failed, "an interrupted apply could not be rolled back completely; fix the failures above and run rollback before applying again")] };
        }

        var previous = _store.Load();
        var entries = previous?.Entries.ToList() ?? [];
        var snapshot = new Snapshot(previous?.Profile ?? _profile, previous?.Started ?? DateTimeOffset.UtcNow, Environment.ProcessId, Complete: false, entries);
        bool saved = false, reboot = false;
        foreach (var change in Plan())
        {
            reboot |= change.State == ChangeState.PendingReboot;
            if (change.State != ChangeState.Differs)
            {
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, change.Current,
                    change.State switch
                    {
                        ChangeState.InPlace or ChangeState.PendingReboot => OutcomeState.Skipped,
                        ChangeState.Error => OutcomeState.Failed,
                        _ => OutcomeState.Unsupported,
                    },
                    change.Note));
                continue;
            }

            var tuner = TunerFor(change.Kind);
            SnapshotEntry? added = null;
            if (!entries.Any(e => e.Kind == change.Kind && e.Target == change.Target && e.Key == change.Key))
            {
                added = new SnapshotEntry(change.Kind, change.Target, change.Key, change.Original ?? change.Current!);
                entries.Add(added);
                saved = false;
            }

            if (!saved)
            {
                // The original is on disk before the host changes.
                _store.Save(snapshot with { Entries = entries.ToList() });
                saved = true;
            }

            try
            {
                string now = tuner.Apply(change);
                reboot |= change.BootTime;
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, now, OutcomeState.Done, change.Note));
            }
            catch (TuningException e)
            {
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, null, e.Unsupported ? OutcomeState.Unsupported : OutcomeState.Failed, e.Message));
                if (e.Unsupported && added is not null)
                {
                    // The host refused the setting as one it does not offer (a kernel-managed IRQ answers EIO): nothing
                    // changed, and restoring it would be refused the same way, so the snapshot does not keep it.
                    entries.Remove(added);
                    saved = false;
                }
            }
        }

        if (entries.Count > 0)
        {
            _store.Save(snapshot with { Entries = entries, Complete = true });
        }
        else if (previous is null && File.Exists(_store.Path))
        {
            _store.Delete(); // only refused settings were tried: no snapshot to keep
        }

        return new TuningReport(outcomes) { RebootRequired = reboot };
    }

    /// <summary>Restores every saved original, newest first, then undoes the leftovers of persistent tuners that the
    /// snapshot does not cover (a boot configuration file written by an apply whose snapshot a reboot removed).
    /// Entries that cannot be restored stay in the snapshot (marked incomplete, so the next start tries again); an
    /// empty snapshot is removed.</summary>
    public TuningReport Rollback() => Rollback(leftovers: true);

    private TuningReport Rollback(bool leftovers)
    {
        var snapshot = _store.Load();
        var extra = leftovers
            ? _tuners.OfType<IPersistentTuner>().SelectMany(t => t.Leftovers(snapshot?.Entries ?? [])).ToList()
            : [];
        if (snapshot is null && extra.Count == 0)
        {
            return new TuningReport([]);
        }

        var outcomes = new List<TuningOutcome>();
        var left = new List<SnapshotEntry>();
        bool reboot = false;
        foreach (var entry in (snapshot?.Entries ?? []).Reverse())
        {
            var tuner = _tuners.FirstOrDefault(t => t.Kinds.Contains(entry.Kind));
            if (tuner is null)
            {
                left.Add(entry);
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Failed,
                    $"no tuner for '{entry.Kind}' in this run (was it applied with another profile or option?); left in the snapshot"));
                continue;
            }

            try
            {
                tuner.Restore(entry);
                reboot |= tuner is IPersistentTuner;
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Done, null));
            }
            catch (TuningException e)
            {
                left.Add(entry);
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Failed, e.Message));
            }
        }

        foreach (var entry in extra)
        {
            try
            {
                TunerFor(entry.Kind).Restore(entry);
                reboot = true;
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Done,
                    "left by an earlier apply whose snapshot is gone (a reboot clears it)"));
            }
            catch (TuningException e)
            {
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Failed, e.Message));
            }
        }

        if (snapshot is null)
        {
            return new TuningReport(outcomes) { RebootRequired = reboot };
        }

        if (left.Count == 0)
        {
            _store.Delete();
        }
        else
        {
            left.Reverse();
            _store.Save(snapshot with { Entries = left, Complete = false });
        }

        return new TuningReport(outcomes) { RebootRequired = reboot };
    }

    private ITuner TunerFor(string kind) =>
        _tuners.FirstOrDefault(t => t.Kinds.Contains(kind)) ?? throw new InvalidOperationException($"no tuner produces '{kind}'");
}
