using DataPlane.Testing;
using DataPlane.Topology;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Irq;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Tuning.Tests.Profiles;

/// <summary>The gpu-host and pi-edge profiles against sysfs/procfs fixture trees of real host shapes: plan, apply,
/// verify and rollback end to end (NIC settings are covered with the modelled drivers in Nic/).</summary>
public class TuningSetupTests
{
    private static TuningSetup Setup(HostFixture host, TuningProfile profile, HostRoots? roots = null, params string[] only) =>
        TuningSetup.Create(new TuningOptions
        {
            Profile = profile,
            Only = only.Length == 0 ? new HashSet<string> { "sysctl", "irq" } : only.ToHashSet(),
            RunDirectory = Path.Combine(host.Root, "run"),
        }, TopologyDiscovery.Discover(roots ?? host.Roots, host.GpuSource), roots ?? host.Roots);

    [Fact]
    public void Gpu_host_plan_apply_verify_rollback_on_a_two_socket_dgx_tree()
    {
        using var host = HostFixture.Create("dgx-h100");
        var setup = Setup(host, TuningProfile.GpuHost);
        string irq101 = host.Proc("irq/101/smp_affinity_list");
        string before = File.ReadAllText(irq101);

        Assert.Equal("1-2", setup.HotCpus.ToList());
        Assert.Equal(8, setup.Nics.Count);
        var plan = setup.Engine.Plan();
        Assert.Contains(plan, c => c is { Kind: "sysctl", Key: "net.core.rmem_max", Current: "212992", Desired: "16777216", State: ChangeState.Differs });
        Assert.Contains(plan, c => c is { Kind: "sysctl", Key: "net.core.somaxconn", State: ChangeState.InPlace });
        // 16 queue vectors on each of the 8 ConnectX-7, and the one vector of each of the 8 GPUs.
        Assert.Equal(128 + 8, plan.Count(c => c.Kind == IrqAffinityTuner.Kind && c.State == ChangeState.Differs));
        Assert.Equal(before, File.ReadAllText(irq101)); // plan wrote nothing

        var report = setup.Engine.Apply();

        Assert.True(report.Succeeded);
        Assert.Equal("0", File.ReadAllText(irq101).Trim());
        Assert.Equal("16777216", File.ReadAllText(host.Proc("sys/net/core/rmem_max")).Trim());
        Assert.Equal("0", File.ReadAllText(host.Proc("sys/kernel/numa_balancing")).Trim());
        Assert.Empty(setup.Engine.Verify());

        File.WriteAllText(irq101, "5\n"); // someone (irqbalance) moved it
        var drift = Assert.Single(setup.Engine.Verify());
        Assert.Equal(("irq/101", "5", "0"), (drift.Target, drift.Current, drift.Desired));

        var rollback = setup.Engine.Rollback();

        Assert.True(rollback.Succeeded);
        Assert.Equal(CpuSet.ParseList(before), CpuSet.ParseList(File.ReadAllText(irq101)));
        Assert.Equal("212992", File.ReadAllText(host.Proc("sys/net/core/rmem_max")).Trim());
        Assert.Equal("1", File.ReadAllText(host.Proc("sys/kernel/numa_balancing")).Trim());
        Assert.False(File.Exists(setup.Engine.Store.Path));
    }

    [Fact]
    public void With_irqbalance_running_its_environment_file_bans_our_irqs_and_rollback_restores_the_file()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        var roots = host.Roots with { Etc = Path.Combine(host.Root, "etc") };
        Directory.CreateDirectory(host.Proc("4242"));
        File.WriteAllText(host.Proc("4242/comm"), "irqbalance\n");
        Directory.CreateDirectory(Path.Combine(roots.Etc, "default"));
        string env = Path.Combine(roots.Etc, "default", "irqbalance");
        File.WriteAllText(env, "# irqbalance options\nIRQBALANCE_ARGS=\"--deepestcache=2\"\n");
        var setup = Setup(host, TuningProfile.GpuHost, roots, "irq");

        Assert.Contains(setup.Facts, f => f.StartsWith("irqbalance is running", StringComparison.Ordinal));
        var plan = setup.Engine.Plan().Where(c => c.Kind == IrqBalanceTuner.Kind).ToList();
        Assert.Equal(["IRQBALANCE_BANNED_CPULIST", "IRQBALANCE_ARGS"], plan.Select(c => c.Key));
        Assert.Equal([IrqBalanceTuner.Unset, "--deepestcache=2"], plan.Select(c => c.Current));

        Assert.True(setup.Engine.Apply().Succeeded);
        string written = File.ReadAllText(env);
        Assert.Contains("IRQBALANCE_BANNED_CPULIST=\"1-2\"", written, StringComparison.Ordinal);
        Assert.Contains("IRQBALANCE_ARGS=\"--banirq=81 --banirq=82", written, StringComparison.Ordinal);

        Assert.True(setup.Engine.Rollback().Succeeded);
        var restored = File.ReadAllLines(env);
        Assert.Contains("IRQBALANCE_ARGS=\"--deepestcache=2\"", restored);
        Assert.DoesNotContain(restored, l => l.StartsWith("IRQBALANCE_BANNED_CPULIST", StringComparison.Ordinal));
    }

    [Fact]
    public void Pi_edge_profile_tunes_sysctls_only()
    {
        using var host = HostFixture.Create("nvlink-bridge-2gpu");
        var setup = Setup(host, TuningProfile.PiEdge, only: []);

        var plan = setup.Engine.Plan();

        Assert.All(plan, c => Assert.Equal("sysctl", c.Kind));
        Assert.True(setup.HotCpus.IsEmpty);
        // The fixture has no keepalive files: reported, not fatal, and apply still succeeds for the rest.
        Assert.Contains(plan, c => c is { Key: "net.ipv4.tcp_keepalive_time", State: ChangeState.Unsupported });
        Assert.True(setup.Engine.Apply().Succeeded);
        Assert.Equal("1024", File.ReadAllText(host.Proc("sys/net/core/somaxconn")).Trim());
    }

    [Fact]
    public void A_configured_nic_sysfs_does_not_know_is_tuned_without_irq_pinning_and_said_so()
    {
        using var host = HostFixture.Create("pcie-4gpu");
        var topology = TopologyDiscovery.Discover(host.Roots, host.GpuSource);

        var setup = TuningSetup.Create(new TuningOptions
        {
            Profile = TuningProfile.GpuHost,
            Nics = ["enp69s0f0np0", "veth9"],
            Only = new HashSet<string> { "irq" },
            RunDirectory = Path.Combine(host.Root, "run"),
        }, topology, host.Roots);

        Assert.Contains(setup.Facts, f => f.Contains("no IRQ pinning", StringComparison.Ordinal) && f.EndsWith("veth9", StringComparison.Ordinal));
        Assert.Equal(["enp69s0f0np0", "veth9"], setup.Nics.Select(n => n.Name));
        var nicVectors = setup.IrqAssignments.Where(a => a.Label is null).ToList(); // the GPUs' vectors carry a label
        Assert.All(nicVectors, a => Assert.Equal("enp69s0f0np0", a.Device));
        Assert.Equal(8, nicVectors.Count);
    }
}
