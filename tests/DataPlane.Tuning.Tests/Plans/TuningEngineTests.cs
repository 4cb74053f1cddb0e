using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Sysctl;

namespace DataPlane.Tuning.Tests.Plans;

public class TuningEngineTests
{
    private static readonly SysctlSetting[] s_profile =
    [
        new("net.core.somaxconn", "4096"),
        new("net.core.rmem_max", "16777216"),
        new("vm.swappiness", "10"),
        new("net.core.busy_poll", "50"), // absent from the tree: unsupported, never fatal
    ];

    private static ProcTree Host() => new(("net.core.somaxconn", "4096"), ("net.core.rmem_max", "212992"), ("vm.swappiness", "60"));

    [Fact]
    public void Plan_changes_nothing_and_writes_no_snapshot()
    {
        using var proc = Host();
        var engine = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], new SnapshotStore(proc.RunDir));

        var plan = engine.Plan();

        Assert.Equal(2, plan.Count(c => c.State == ChangeState.Differs));
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
        Assert.False(File.Exists(engine.Store.Path));
    }

    [Fact]
    public void Apply_saves_originals_first_then_verify_is_clean_and_rollback_restores_exactly()
    {
        using var proc = Host();
        var engine = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], new SnapshotStore(proc.RunDir));

        var report = engine.Apply();

        Assert.True(report.Succeeded);
        Assert.Equal(2, report.Count(OutcomeState.Done));
        Assert.Equal(1, report.Count(OutcomeState.Skipped));
        Assert.Equal(1, report.Count(OutcomeState.Unsupported));
        Assert.Equal("16777216", proc.Get("net.core.rmem_max"));
        Assert.Equal("10", proc.Get("vm.swappiness"));
        var snapshot = engine.Store.Load()!;
        Assert.True(snapshot.Complete);
        Assert.Equal([("net.core.rmem_max", "212992"), ("vm.swappiness", "60")], snapshot.Entries.Select(e => (e.Key, e.Original)));
        Assert.Empty(engine.Verify());

        var rollback = engine.Rollback();

        Assert.Equal(2, rollback.Count(OutcomeState.Done));
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
        Assert.Equal("60", proc.Get("vm.swappiness"));
        Assert.Equal("4096", proc.Get("net.core.somaxconn"));
        Assert.False(File.Exists(engine.Store.Path));
    }

    [Fact]
    public void Verify_reports_drift_after_someone_changes_a_setting()
    {
        using var proc = Host();
        var engine = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], new SnapshotStore(proc.RunDir));
        engine.Apply();

        proc.Set("vm.swappiness", "30");

        var drift = Assert.Single(engine.Verify());
        Assert.Equal(("vm.swappiness", "30", "10"), (drift.Key, drift.Current, drift.Desired));
    }

    [Fact]
    public void A_second_apply_keeps_the_first_original_so_rollback_returns_to_the_host_as_it_was()
    {
        using var proc = Host();
        var engine = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], new SnapshotStore(proc.RunDir));
        engine.Apply();
        proc.Set("vm.swappiness", "30"); // drift
        engine.Apply();
        Assert.Equal("10", proc.Get("vm.swappiness"));

        engine.Rollback();

        Assert.Equal("60", proc.Get("vm.swappiness"));
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
    }

    [Fact]
    public void An_apply_interrupted_midway_is_rolled_back_by_the_next_start()
    {
        using var proc = Host();
        var store = new SnapshotStore(proc.RunDir);
        var crashing = new CrashAfter(new SysctlTuner(proc.Root, s_profile), applies: 1);
        var first = new TuningEngine("test", [crashing], store);

        Assert.Throws<InvalidOperationException>(() => first.Apply()); // the process "dies" during the second change
        Assert.Equal("16777216", proc.Get("net.core.rmem_max"));
        Assert.False(store.Load()!.Complete);

        // The next start: same profile, fresh engine.
        var next = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], store);
        var recovered = next.RecoverInterrupted();

        Assert.NotNull(recovered);
        Assert.True(recovered.Succeeded);
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
        Assert.Equal("60", proc.Get("vm.swappiness"));
        Assert.Null(store.Load());
        Assert.Null(next.RecoverInterrupted());
    }

    [Fact]
    public void A_refused_setting_is_reported_and_the_others_still_apply()
    {
        using var proc = Host();
        var profile = new SysctlSetting[] { new("net.core.rmem_max", "16777216"), new("vm.swappiness", "10") };
        var engine = new TuningEngine("test", [new RefuseKey(new SysctlTuner(proc.Root, profile), "net.core.rmem_max")], new SnapshotStore(proc.RunDir));

        var report = engine.Apply();

        Assert.False(report.Succeeded);
        var failed = Assert.Single(report.Outcomes, o => o.State == OutcomeState.Failed);
        Assert.Equal("net.core.rmem_max", failed.Key);
        Assert.Contains("refused", failed.Note, StringComparison.Ordinal);
        Assert.Equal("10", proc.Get("vm.swappiness"));

        engine.Rollback();
        Assert.Equal("60", proc.Get("vm.swappiness"));
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
    }

    [Fact]
    public void A_rollback_that_cannot_restore_keeps_the_entry_for_the_next_try()
    {
        using var proc = Host();
        var store = new SnapshotStore(proc.RunDir);
        new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], store).Apply();
        File.Delete(proc.PathOf("vm.swappiness"));

        var report = new TuningEngine("test", [new SysctlTuner(proc.Root, s_profile)], store).Rollback();

        Assert.Equal(1, report.Count(OutcomeState.Failed));
        Assert.Equal("212992", proc.Get("net.core.rmem_max"));
        var left = store.Load()!;
        Assert.False(left.Complete);
        Assert.Equal("vm.swappiness", Assert.Single(left.Entries).Key);
    }

    [Fact]
    public void A_corrupt_snapshot_is_an_error_that_names_the_file()
    {
        using var proc = Host();
        var store = new SnapshotStore(proc.RunDir);
        Directory.CreateDirectory(proc.RunDir);
        File.WriteAllText(store.Path, "{ not json");

        var e = Assert.Throws<TuningException>(() => new TuningEngine("test", [], store).Rollback());
        Assert.Contains(store.Path, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Stands for a process killed in the middle of an apply: after <c>applies</c> changes it throws
    /// something the engine does not catch.</summary>
    private sealed class CrashAfter(ITuner inner, int applies) : ITuner
    {
        private int _left = applies;

        public IReadOnlyCollection<string> Kinds => inner.Kinds;

        public IReadOnlyList<TuningChange> Plan() => inner.Plan();

        public string Apply(TuningChange change) =>
            _left-- > 0 ? inner.Apply(change) : throw new InvalidOperationException("killed");

        public void Restore(SnapshotEntry entry) => inner.Restore(entry);
    }

    /// <summary>Stands for a kernel that rejects one value (EINVAL).</summary>
    private sealed class RefuseKey(ITuner inner, string key) : ITuner
    {
        public IReadOnlyCollection<string> Kinds => inner.Kinds;

        public IReadOnlyList<TuningChange> Plan() => inner.Plan();

        public string Apply(TuningChange change) =>
            change.Key == key ? throw new TuningException($"sysctl {key}: the kernel refused '{change.Desired}'") : inner.Apply(change);

        public void Restore(SnapshotEntry entry) => inner.Restore(entry);
    }
}
