using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Sysctl;
using DataPlane.Tuning.Tests.Plans;

namespace DataPlane.Tuning.Tests.Sysctl;

public class SysctlTunerTests
{
    [Fact]
    public void Plan_compares_normalised_values_and_reports_missing_keys_as_unsupported()
    {
        using var proc = new ProcTree(("net.core.somaxconn", "4096"), ("net.ipv4.tcp_rmem", "4096\t131072\t6291456"), ("vm.swappiness", "60"));
        var tuner = new SysctlTuner(proc.Root,
        [
            new("net.core.somaxconn", "4096"),
            new("net.ipv4.tcp_rmem", "4096 131072 16777216"),
            new("vm.swappiness", "10"),
            new("net.core.busy_poll", "50"),
        ]);

        var plan = tuner.Plan();

        Assert.Equal([ChangeState.InPlace, ChangeState.Differs, ChangeState.Differs, ChangeState.Unsupported], plan.Select(c => c.State));
        Assert.Equal("4096 131072 6291456", plan[1].Current);
        Assert.Null(plan[3].Current);
        Assert.Contains("no such key", plan[3].Note, StringComparison.Ordinal);
        Assert.Equal("60", proc.Get("vm.swappiness")); // plan changed nothing
    }

    [Fact]
    public void Apply_writes_one_key_and_restore_writes_the_original_back()
    {
        using var proc = new ProcTree(("vm.swappiness", "60"));
        var tuner = new SysctlTuner(proc.Root, [new("vm.swappiness", "10")]);
        var change = Assert.Single(tuner.Plan());

        Assert.Equal("10", tuner.Apply(change));
        Assert.Equal("10", proc.Get("vm.swappiness"));
        Assert.Equal(ChangeState.InPlace, Assert.Single(tuner.Plan()).State);

        tuner.Restore(new SnapshotEntry(SysctlTuner.Kind, "kernel", "vm.swappiness", "60"));
        Assert.Equal("60", proc.Get("vm.swappiness"));
    }

    [Fact]
    public void A_key_that_vanished_is_reported_as_unsupported_on_write()
    {
        using var proc = new ProcTree(("vm.swappiness", "60"));
        var tuner = new SysctlTuner(proc.Root, [new("vm.swappiness", "10")]);
        var change = Assert.Single(tuner.Plan());
        File.Delete(proc.PathOf("vm.swappiness"));

        var e = Assert.Throws<TuningException>(() => tuner.Apply(change));
        Assert.True(e.Unsupported);
        Assert.Contains("sysctl vm.swappiness", e.Message, StringComparison.Ordinal);
    }
}
