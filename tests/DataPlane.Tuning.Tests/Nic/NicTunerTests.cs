using DataPlane.Tuning.Nic;
using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Tests.Nic;

/// <summary>NicTuner's plan/apply/restore against fake devices that answer like mlx5 and veth at the ioctl boundary.</summary>
public class NicTunerTests
{
    private static NicTuner Tuner(NicSettings settings, params FakeNic[] nics)
    {
        var byName = nics.ToDictionary(n => n.Name);
        return new NicTuner(nics.Select(n => n.Name), settings, name => byName[name].Open());
    }

    private static TuningChange One(IReadOnlyList<TuningChange> plan, string kind, string target, string key) =>
        plan.Single(c => c.Kind == kind && c.Target == target && c.Key == key);

    [Fact]
    public void Plan_has_one_change_per_configured_key_per_interface()
    {
        FakeNic a = FakeNic.Mlx5("eth0"), b = FakeNic.Veth("veth0");
        IReadOnlyList<TuningChange> plan = Tuner(NicSettings.LatencyDefaults, a, b).Plan();

        int perInterface = NicSettings.LatencyDefaults.Coalesce.Count + NicSettings.LatencyDefaults.Ring.Count + NicSettings.LatencyDefaults.Features.Count;
        Assert.Equal(2 * perInterface, plan.Count);
        Assert.Equal(plan.Count, plan.Select(c => c.Id).Distinct().Count());
        Assert.Equal(["coalesce", "ring", "feature"], Tuner(NicSettings.LatencyDefaults, a).Kinds);
        Assert.Equal(0, a.CoalesceSets + a.RingSets + a.FeatureSets);
        Assert.Equal(a.Opens, a.Disposes);
    }

    [Fact]
    public void Plan_on_mlx5_compares_current_values_with_the_profile()
    {
        var nic = FakeNic.Mlx5("eth0");
        IReadOnlyList<TuningChange> plan = Tuner(NicSettings.LatencyDefaults, nic).Plan();

        Assert.Equal(new TuningChange("coalesce", "eth0", "adaptive-rx", "on", "off", ChangeState.Differs), One(plan, "coalesce", "eth0", "adaptive-rx"));
        Assert.Equal(new TuningChange("coalesce", "eth0", "rx-usecs", "8", "8", ChangeState.InPlace), One(plan, "coalesce", "eth0", "rx-usecs"));
        Assert.Equal(new TuningChange("coalesce", "eth0", "rx-frames", "128", "32", ChangeState.Differs), One(plan, "coalesce", "eth0", "rx-frames"));

        TuningChange rx = One(plan, "ring", "eth0", "rx");
        Assert.Equal(("1024", "8192", ChangeState.Differs), (rx.Current, rx.Desired, rx.State));
        Assert.Contains("8192", rx.Note, StringComparison.Ordinal);

        Assert.Equal(ChangeState.InPlace, One(plan, "feature", "eth0", "rx-gro").State);
        Assert.Equal(("off", ChangeState.InPlace), (One(plan, "feature", "eth0", "rx-lro").Current, One(plan, "feature", "eth0", "rx-lro").State));
    }

    [Fact]
    public void Plan_on_veth_reports_missing_coalescing_and_rings_as_unsupported_and_a_fixed_feature_in_place()
    {
        var nic = FakeNic.Veth("veth0");
        IReadOnlyList<TuningChange> plan = Tuner(NicSettings.LatencyDefaults, nic).Plan();

        Assert.All(plan.Where(c => c.Kind == "coalesce"), c =>
        {
            Assert.Equal(ChangeState.Unsupported, c.State);
            Assert.Contains("EOPNOTSUPP", c.Note, StringComparison.Ordinal);
        });
        Assert.All(plan.Where(c => c.Kind == "ring"), c => Assert.Equal(ChangeState.Unsupported, c.State));

        // LRO is fixed off on veth: the profile wants it off, so nothing is to be done.
        TuningChange lro = One(plan, "feature", "veth0", "rx-lro");
        Assert.Equal((ChangeState.InPlace, "fixed"), (lro.State, lro.Note));
        Assert.Equal(("off", ChangeState.Differs), (One(plan, "feature", "veth0", "rx-gro").Current, One(plan, "feature", "veth0", "rx-gro").State));
    }

    [Fact]
    public void A_fixed_feature_that_differs_is_unchangeable_and_never_attempted()
    {
        var nic = FakeNic.Mlx5("eth0");
        var settings = new NicSettings(features: [new("highdma", "off"), new("vlan-challenged", "on")]);
        NicTuner tuner = Tuner(settings, nic);
        IReadOnlyList<TuningChange> plan = tuner.Plan();

        TuningChange highdma = One(plan, "feature", "eth0", "highdma");
        Assert.Equal(ChangeState.Unchangeable, highdma.State);
        Assert.Contains("driver does not let", highdma.Note, StringComparison.Ordinal);
        TuningChange vlan = One(plan, "feature", "eth0", "vlan-challenged");
        Assert.Equal(ChangeState.Unchangeable, vlan.State);
        Assert.Contains("never", vlan.Note, StringComparison.Ordinal);

        // Even if asked, the tuner refuses without sending SFEATURES (the kernel would answer EINVAL or ignore it).
        Assert.Throws<TuningException>(() => tuner.Apply(highdma));
        Assert.Throws<TuningException>(() => tuner.Apply(vlan));
        Assert.Equal(0, nic.FeatureSets);
        Assert.True(nic.Feature("highdma").Active);
    }

    [Fact]
    public void A_feature_this_kernel_does_not_have_is_unsupported()
    {
        var nic = FakeNic.Mlx5("eth0");
        NicTuner tuner = Tuner(new NicSettings(features: [new("rx-made-up", "on")]), nic);
        TuningChange c = Assert.Single(tuner.Plan());
        Assert.Equal((ChangeState.Unsupported, (string?)null), (c.State, c.Current));
        Assert.Contains("no feature named rx-made-up", c.Note, StringComparison.Ordinal);
        Assert.True(Assert.Throws<TuningException>(() => tuner.Apply(c with { State = ChangeState.Differs })).Unsupported);
    }

    [Fact]
    public void Apply_then_plan_again_is_all_in_place()
    {
        var nic = FakeNic.Mlx5("eth0");
        NicTuner tuner = Tuner(NicSettings.LatencyDefaults, nic);

        foreach (TuningChange change in tuner.Plan().Where(c => c.State == ChangeState.Differs))
        {
            Assert.Equal(change.Desired, tuner.Apply(change));
        }

        Assert.All(tuner.Plan(), c => Assert.Equal(ChangeState.InPlace, c.State));
        Assert.Equal(0u, nic.Coalesce.UseAdaptiveRxCoalesce);
        Assert.Equal(32u, nic.Coalesce.RxMaxCoalescedFrames);
        Assert.Equal((8192u, 8192u), (nic.Ring.RxPending, nic.Ring.TxPending));
        Assert.Equal(nic.Opens, nic.Disposes);
    }

    [Fact]
    public void Restore_from_the_snapshot_returns_exactly_the_original_state()
    {
        var nic = FakeNic.Mlx5("eth0");
        var settings = new NicSettings(
            coalesce: [new("adaptive-rx", "off"), new("rx-usecs", "2"), new("tx-frames", "4")],
            ring: [new("rx", "max"), new("tx", "2048")],
            features: [new("rx-gro", "off"), new("rx-lro", "on"), new("rx-gro-hw", "on")]);
        NicTuner tuner = Tuner(settings, nic);
        string before = nic.State();

        // What the engine does: snapshot Current of each change before applying it.
        var snapshot = new List<SnapshotEntry>();
        foreach (TuningChange change in tuner.Plan().Where(c => c.State == ChangeState.Differs))
        {
            snapshot.Add(new SnapshotEntry(change.Kind, change.Target, change.Key, change.Current!));
            _ = tuner.Apply(change);
        }

        Assert.Equal(8, snapshot.Count);
        Assert.NotEqual(before, nic.State());

        foreach (SnapshotEntry entry in Enumerable.Reverse(snapshot))
        {
            tuner.Restore(entry);
        }

        Assert.Equal(before, nic.State());
    }

    [Fact]
    public void Rings_above_the_maximum_are_clamped_with_a_note()
    {
        var nic = FakeNic.Mlx5("eth0");
        NicTuner tuner = Tuner(new NicSettings(ring: [new("rx", "16384"), new("tx", "4096")]), nic);
        IReadOnlyList<TuningChange> plan = tuner.Plan();

        TuningChange rx = One(plan, "ring", "eth0", "rx");
        Assert.Equal(("8192", ChangeState.Differs), (rx.Desired, rx.State));
        Assert.Contains("clamped from 16384 to the device maximum 8192", rx.Note, StringComparison.Ordinal);
        Assert.Null(One(plan, "ring", "eth0", "tx").Note);

        Assert.Equal("8192", tuner.Apply(rx));
        Assert.Equal("4096", tuner.Apply(One(plan, "ring", "eth0", "tx")));
        // Even a restore or apply of an over-large value is clamped before SRINGPARAM (which would answer EINVAL).
        tuner.Restore(new SnapshotEntry("ring", "eth0", "rx", "99999"));
        Assert.Equal(8192u, nic.Ring.RxPending);
    }

    [Fact]
    public void A_ring_the_device_does_not_have_is_unsupported()
    {
        var nic = FakeNic.Mlx5("eth0");
        TuningChange c = Assert.Single(Tuner(new NicSettings(ring: [new("rx-jumbo", "max")]), nic).Plan());
        Assert.Equal(ChangeState.Unsupported, c.State);
        Assert.Contains("no rx-jumbo ring", c.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void A_coalesce_key_the_driver_rejects_fails_apply_as_unsupported_and_is_reported_so_afterwards()
    {
        var nic = FakeNic.Mlx5("eth0");
        NicTuner tuner = Tuner(new NicSettings(coalesce: [new("rx-usecs-irq", "4"), new("rx-usecs", "4")]), nic);
        string before = nic.State();

        // The ioctl GET cannot tell which fields a driver supports: the plan can only say it differs.
        TuningChange irq = One(tuner.Plan(), "coalesce", "eth0", "rx-usecs-irq");
        Assert.Equal(ChangeState.Differs, irq.State);

        TuningException e = Assert.Throws<TuningException>(() => tuner.Apply(irq));
        Assert.True(e.Unsupported);
        Assert.Contains("EOPNOTSUPP", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, nic.State());

        IReadOnlyList<TuningChange> again = tuner.Plan();
        Assert.Equal(ChangeState.Unsupported, One(again, "coalesce", "eth0", "rx-usecs-irq").State);
        // The rejected key does not poison the others: GET → change one field → SET sends rx-usecs-irq 0 again.
        Assert.Equal("4", tuner.Apply(One(again, "coalesce", "eth0", "rx-usecs")));
        Assert.Equal(0u, nic.Coalesce.RxCoalesceUsecsIrq);
    }

    [Fact]
    public void A_feature_recorded_as_a_wish_but_not_activated_fails_apply()
    {
        var nic = FakeNic.Mlx5("eth0");
        nic.Want("tx-scatter-gather", false);   // the kernel drops TSO without SG
        NicTuner tuner = Tuner(new NicSettings(features: [new("tx-tcp-segmentation", "on")]), nic);
        Assert.False(nic.Feature("tx-tcp-segmentation").Active);

        TuningChange tso = Assert.Single(tuner.Plan());
        Assert.Equal(ChangeState.Differs, tso.State);
        Assert.Contains("depends on", tso.Note, StringComparison.Ordinal);

        TuningException e = Assert.Throws<TuningException>(() => tuner.Apply(tso));
        Assert.Contains("ETHTOOL_F_WISH", e.Message, StringComparison.Ordinal);
        Assert.Contains("did not activate", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, nic.FeatureSets);
    }

    [Fact]
    public void A_missing_interface_is_an_error_in_the_plan_and_a_tuning_exception_on_apply()
    {
        var nic = FakeNic.Mlx5("eth9");
        nic.Exists = false;
        NicTuner tuner = Tuner(NicSettings.LatencyDefaults, nic);
        IReadOnlyList<TuningChange> plan = tuner.Plan();

        Assert.All(plan, c =>
        {
            Assert.Equal(ChangeState.Error, c.State);
            Assert.Contains("no such interface", c.Note, StringComparison.Ordinal);
        });
        TuningException e = Assert.Throws<TuningException>(() => tuner.Restore(new SnapshotEntry("coalesce", "eth9", "rx-usecs", "8")));
        Assert.Contains("ENODEV", e.Message, StringComparison.Ordinal);
        Assert.False(e.Unsupported);
    }

    [Fact]
    public void Bad_interface_names_and_unknown_kinds_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new NicTuner(["eth0", "a/b"], NicSettings.LatencyDefaults, _ => throw new InvalidOperationException()));
        Assert.Throws<ArgumentException>(() => new NicTuner(["abcdefghijklmnop"], NicSettings.LatencyDefaults, _ => throw new InvalidOperationException()));

        var nic = FakeNic.Mlx5("eth0");
        NicTuner tuner = Tuner(NicSettings.LatencyDefaults, nic);
        Assert.Throws<TuningException>(() => tuner.Restore(new SnapshotEntry("sysctl", "eth0", "x", "1")));
        Assert.Throws<TuningException>(() => tuner.Restore(new SnapshotEntry("coalesce", "eth0", "rx-usecs", "fast")));
        Assert.Throws<TuningException>(() => tuner.Restore(new SnapshotEntry("coalesce", "../x", "rx-usecs", "1")));
    }

    [Fact]
    public void Plan_on_the_real_loopback_interface_reads_without_changing_anything()
    {
        IReadOnlyList<TuningChange> plan = new NicTuner(["lo"], NicSettings.LatencyDefaults).Plan();

        Assert.All(plan.Where(c => c.Kind is "coalesce" or "ring"), c => Assert.Equal(ChangeState.Unsupported, c.State));
        TuningChange lro = One(plan, "feature", "lo", "rx-lro");
        Assert.Equal(("off", ChangeState.InPlace), (lro.Current, lro.State));
        Assert.Contains(One(plan, "feature", "lo", "rx-gro").Current, new[] { "on", "off" });
    }
}
