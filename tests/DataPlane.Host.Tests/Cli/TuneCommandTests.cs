using DataPlane.Host.Cli;
using DataPlane.Tuning.Boot;

namespace DataPlane.Host.Tests.Cli;

/// <summary><c>dataplane tune</c> through the verb's own entry point on a fixture tree, without NVML (the GPUs come
/// from sysfs): GPU interrupt pinning and the boot-time CPU isolation drop-in, with the <c>--yes</c> confirmation, the
/// reboot notice, verify against <c>/proc/cmdline</c> and rollback.</summary>
public class TuneCommandTests
{
    private static (int Exit, string Out, string Err) Tune(HostFixture host, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = HostCommands.Tune(
            [.. args, "--profile", "gpu-host", "--only", "irq,isolation", "--nvml-library", "/nonexistent/libnvidia-ml.so.1",
                "--sysfs-root", host.Roots.Sys, "--procfs-root", host.Roots.Proc, "--etc-root", host.Roots.Etc, "--run-dir", Path.Combine(host.Root, "run")],
            stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Gpu_irqs_and_the_isolation_drop_in_plan_apply_with_yes_verify_and_roll_back()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        string dropIn = host.Etc("default/grub.d/" + CpuIsolationTuner.DropInName);
        string irq300 = host.Proc("irq/300/smp_affinity_list");

        var plan = Tune(host, "plan");
        Assert.Equal(0, plan.Exit);
        Assert.Matches(@"irq\s+irq/300\s+smp_affinity_list\s+0-15\s+6\s+change\s+0000:01:00\.0 nvidia vector 0", plan.Out);
        Assert.Matches(@"cmdline\s+\S+\s+irqaffinity\s+-\s+0,3-15\s+change-at-boot", plan.Out);

        var json = Tune(host, "plan", "--json");
        Assert.Contains("\"boot_time\": true", json.Out, StringComparison.Ordinal);

        var refused = Tune(host, "apply");
        Assert.Equal(2, refused.Exit);
        Assert.Contains("add --yes to confirm", refused.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(dropIn));
        Assert.Equal("0-15\n", File.ReadAllText(irq300));

        var apply = Tune(host, "apply", "--yes");
        Assert.Equal(0, apply.Exit);
        Assert.Contains("reboot needed: the kernel command line changes at boot: run update-grub, then reboot", apply.Out, StringComparison.Ordinal);
        Assert.Equal("6\n", File.ReadAllText(irq300));
        Assert.Contains("isolcpus=managed_irq,domain,1-2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3-15", File.ReadAllText(dropIn), StringComparison.Ordinal);

        var pending = Tune(host, "verify");
        Assert.Equal(1, pending.Exit);
        Assert.Contains("4 boot-time setting(s) pending reboot", pending.Out, StringComparison.Ordinal);

        File.WriteAllText(host.Proc("cmdline"), HostFixture.DefaultCommandLine + " isolcpus=managed_irq,domain,1-2 nohz_full=1-2 rcu_nocbs=1-2 irqaffinity=0,3-15\n");
        var booted = Tune(host, "verify");
        Assert.Equal(0, booted.Exit);
        Assert.Contains("no drift", booted.Out, StringComparison.Ordinal);

        var rollback = Tune(host, "rollback", "--yes");
        Assert.Equal(0, rollback.Exit);
        Assert.Contains("reboot needed", rollback.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(dropIn));
        Assert.Equal("0-15\n", File.ReadAllText(irq300));
    }
}
