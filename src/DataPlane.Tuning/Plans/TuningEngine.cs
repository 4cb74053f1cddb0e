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

    /// <summary>Settings that differ from the profile (drift). Unsupported and unchangeable settings are not drift.</summary>
    public IReadOnlyList<TuningChange> Verify() => Plan().Where(c => c.State is ChangeState.Differs or ChangeState.Error).ToList();

    /// <summary>Rolls back an interrupted apply; returns null when there was none.</summary>
    public TuningReport? RecoverInterrupted()
    {
        var snapshot = _store.Load();
        return snapshot is { Complete: false } ? Rollback() : null;
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
        bool saved = false;
        foreach (var change in Plan())
        {
            if (change.State != ChangeState.Differs)
            {
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, change.Current,
                    change.State switch
                    {
                        ChangeState.InPlace => OutcomeState.Skipped,
                        ChangeState.Error => OutcomeState.Failed,
                        _ => OutcomeState.Unsupported,
                    },
                    change.Note));
                continue;
            }

            var tuner = TunerFor(change.Kind);
            if (!entries.Any(e => e.Kind == change.Kind && e.Target == change.Target && e.Key == change.Key))
            {
                entries.Add(new SnapshotEntry(change.Kind, change.Target, change.Key, change.Current!));
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
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, now, OutcomeState.Done, change.Note));
            }
            catch (TuningException e)
            {
                outcomes.Add(new TuningOutcome(change.Kind, change.Target, change.Key, change.Current, null, e.Unsupported ? OutcomeState.Unsupported : OutcomeState.Failed, e.Message));
            }
        }

        if (entries.Count > 0)
        {
            _store.Save(snapshot with { Entries = entries, Complete = true });
        }

        return new TuningReport(outcomes);
    }

    /// <summary>Restores every saved original, newest first. Entries that cannot be restored stay in the snapshot
    /// (marked incomplete, so the next start tries again); an empty snapshot is removed.</summary>
    public TuningReport Rollback()
    {
        var snapshot = _store.Load();
        if (snapshot is null)
        {
            return new TuningReport([]);
        }

        var outcomes = new List<TuningOutcome>();
        var left = new List<SnapshotEntry>();
        foreach (var entry in snapshot.Entries.Reverse())
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
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Done, null));
            }
            catch (TuningException e)
            {
                left.Add(entry);
                outcomes.Add(new TuningOutcome(entry.Kind, entry.Target, entry.Key, null, entry.Original, OutcomeState.Failed, e.Message));
            }
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

        return new TuningReport(outcomes);
    }

    private ITuner TunerFor(string kind) =>
        _tuners.FirstOrDefault(t => t.Kinds.Contains(kind)) ?? throw new InvalidOperationException($"no tuner produces '{kind}'");
}
