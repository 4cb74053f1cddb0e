using DataPlane.Testing;
using DataPlane.Topology;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Boot;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Tuning.Tests.Boot;

/// <summary>CPU isolation of the hot-path CPUs as a boot-time change: the plan's kernel arguments, the GRUB drop-in apply
/// writes, verify against <c>/proc/cmdline</c> (applied, pending reboot, drifted), and rollback with and without the
/// snapshot a reboot removes.</summary>
public class CpuIsolationTests
{
    private const string Isolcpus = "managed_irq,domain,1-2";
    private const string Housekeeping = "0,3-223";

    private static TuningSetup Setup(HostFixture host, CpuSet? hot = null) =>
        TuningSetup.Create(new TuningOptions
        {
            Profile = TuningProfile.GpuHost,
            Only = new HashSet<string> { "isolation" },
            HotCpus = hot,
            RunDirectory = Path.Combine(host.Root, "run"),
        }, TopologyDiscovery.Discover(host.Roots, host.GpuSource), host.Roots);

    private static string DropIn(HostFixture host) => host.Etc("default/grub.d/" + CpuIsolationTuner.DropInName);

    private static void Boot(HostFixture host, string extra) => File.WriteAllText(host.Proc("cmdline"), $"{HostFixture.DefaultCommandLine} {extra}\n");

    [Fact]
    public void The_plan_isolates_the_hot_path_cpus_and_keeps_interrupts_on_the_others_at_the_next_boot()
    {
        using var host = HostFixture.Create("dgx-h100");
        var setup = Setup(host);

        var plan = setup.Engine.Plan();

        Assert.Equal(
            [("isolcpus", Isolcpus), ("nohz_full", "1-2"), ("rcu_nocbs", "1-2"), ("irqaffinity", Housekeeping)],
            plan.Select(c => (c.Key, c.Desired)));
        Assert.All(plan, c =>
        {
            Assert.Equal((CpuIsolationTuner.Kind, DropIn(host), ChangeState.Differs, true, (string?)null), (c.Kind, c.Target, c.State, c.BootTime, c.Current));
            Assert.Contains("update-grub", c.Note, StringComparison.Ordinal);
        });
        Assert.Contains(setup.Facts, f => f.StartsWith("CPU isolation (boot-time): isolcpus=managed_irq,domain,1-2 nohz_full=1-2", StringComparison.Ordinal));
        Assert.False(Directory.Exists(host.Etc("default/grub.d"))); // plan wrote nothing

        string text = TuningText.Plan(plan);
        Assert.Matches(@"cmdline\s+\S+90-dataplane-isolation\.cfg\s+isolcpus\s+-\s+managed_irq,domain,1-2\s+change-at-boot", text);
        Assert.Contains("4 to change (4 at the next boot)", text, StringComparison.Ordinal);
        string json = TuningJson.Serialize(new PlanDocument("gpu-host", "plan", setup.Facts, plan));
        Assert.Contains("\"boot_time\": true", json, StringComparison.Ordinal);
        Assert.DoesNotContain("original", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_writes_only_the_drop_in_verify_reads_proc_cmdline_and_rollback_removes_it()
    {
        using var host = HostFixture.Create("dgx-h100");
        var setup = Setup(host);
        string grub = File.ReadAllText(host.Etc("default/grub"));

        var report = setup.Engine.Apply();

        Assert.True(report.Succeeded);
        Assert.True(report.RebootRequired);
        Assert.Equal(4, report.Count(OutcomeState.Done));
        string[] lines = File.ReadAllLines(DropIn(host));
        Assert.Equal(CpuIsolationTuner.Marker, lines[0]);
        Assert.Contains($"GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX isolcpus={Isolcpus} nohz_full=1-2 rcu_nocbs=1-2 irqaffinity={Housekeeping}\"", lines);
        Assert.Equal(grub, File.ReadAllText(host.Etc("default/grub")));
        Assert.Equal(HostFixture.DefaultCommandLine, File.ReadAllText(host.Proc("cmdline")).Trim());

        // Before the reboot every argument waits for it; apply again has nothing to do but says so.
        var pending = setup.Engine.Verify();
        Assert.Equal(4, pending.Count);
        Assert.All(pending, c => Assert.Equal(ChangeState.PendingReboot, c.State));
        var again = setup.Engine.Apply();
        Assert.Equal((4, true), (again.Count(OutcomeState.Skipped), again.RebootRequired));

        // After it, the running kernel has them (in another order and spelling than written): applied, no drift.
        Boot(host, "isolcpus=domain,managed_irq,1,2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3-223");
        Assert.Empty(setup.Engine.Verify());

        var rollback = setup.Engine.Rollback();

        Assert.True(rollback.Succeeded);
        Assert.True(rollback.RebootRequired);
        Assert.False(File.Exists(DropIn(host)));
        Assert.False(File.Exists(setup.Engine.Store.Path));
    }

    [Fact]
    public void A_running_kernel_with_other_values_is_drift_naming_what_it_has()
    {
        using var host = HostFixture.Create("dgx-h100");
        Boot(host, "isolcpus=3-4 nohz_full=1-2");
        var setup = Setup(host);

        var drift = setup.Engine.Verify();

        Assert.Equal(["isolcpus", "rcu_nocbs", "irqaffinity"], drift.Select(c => c.Key));
        Assert.All(drift, c => Assert.Equal(ChangeState.Differs, c.State));
        Assert.Equal("3-4", drift[0].Current);
        Assert.Contains(setup.Engine.Plan(), c => c is { Key: "nohz_full", State: ChangeState.InPlace, Current: "1-2" });
    }

    [Fact]
    public void Rollback_restores_a_drop_in_of_the_same_name_that_was_there_before()
    {
        using var host = HostFixture.Create("dgx-h100");
        Directory.CreateDirectory(host.Etc("default/grub.d"));
        const string Before = "# local: isolate nothing yet\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX nohz_full=5\"\n";
        File.WriteAllText(DropIn(host), Before);
        var setup = Setup(host);

        Assert.True(setup.Engine.Apply().Succeeded);
        Assert.StartsWith(CpuIsolationTuner.Marker, File.ReadAllText(DropIn(host)), StringComparison.Ordinal);
        Assert.True(setup.Engine.Rollback().Succeeded);

        Assert.Equal(Before, File.ReadAllText(DropIn(host)));
    }

    [Fact]
    public void After_a_reboot_cleared_the_snapshot_rollback_still_removes_our_drop_in_and_nothing_else()
    {
        using var host = HostFixture.Create("dgx-h100");
        var setup = Setup(host);
        Assert.True(setup.Engine.Apply().Succeeded);
        string other = host.Etc("default/grub.d/50-cloudimg-settings.cfg");
        File.WriteAllText(other, "GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0\"\n");

        // The reboot: /run is tmpfs, so the snapshot is gone; the kernel now runs with the arguments.
        Directory.Delete(Path.Combine(host.Root, "run"), recursive: true);
        Boot(host, $"isolcpus={Isolcpus} nohz_full=1-2 rcu_nocbs=1-2 irqaffinity={Housekeeping}");

        var rollback = setup.Engine.Rollback();

        var removed = Assert.Single(rollback.Outcomes);
        Assert.Equal((OutcomeState.Done, DropIn(host), CpuIsolationTuner.Absent), (removed.State, removed.Target, removed.After));
        Assert.True(rollback.RebootRequired);
        Assert.False(File.Exists(DropIn(host)));
        Assert.True(File.Exists(other));
        Assert.Empty(setup.Engine.Rollback().Outcomes); // nothing of ours left
    }

    [Fact]
    public void Without_hot_path_cpus_there_is_no_isolation_change()
    {
        using var host = HostFixture.Create("dgx-h100");

        var setup = Setup(host, CpuSet.Empty);

        Assert.Empty(setup.Engine.Plan());
        Assert.Contains("CPU isolation: none (no hot-path CPUs reserved)", setup.Facts);
        Assert.True(setup.Engine.Apply().Succeeded);
        Assert.False(Directory.Exists(host.Etc("default/grub.d")));
    }

    [Fact]
    public void Without_a_debian_grub_configuration_the_arguments_are_reported_with_the_command_to_add_them()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        File.Delete(host.Etc("default/grub"));
        var setup = Setup(host);

        var plan = setup.Engine.Plan();
        var report = setup.Engine.Apply();

        Assert.All(plan, c => Assert.Equal(ChangeState.Unsupported, c.State));
        Assert.Contains("grubby --update-kernel=ALL --args=\"isolcpus=managed_irq,domain,1-2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3-47\"", plan[0].Note, StringComparison.Ordinal);
        Assert.Equal(4, report.Count(OutcomeState.Unsupported));
        Assert.False(Directory.Exists(host.Etc("default/grub.d")));
    }
}
