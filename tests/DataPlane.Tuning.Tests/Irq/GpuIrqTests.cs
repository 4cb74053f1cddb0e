using DataPlane.Testing;
using DataPlane.Topology;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Irq;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Tuning.Tests.Irq;

/// <summary>The GPUs' interrupts (the nvidia driver's MSI/MSI-X vectors under the GPU's PCI function) pinned with the NIC
/// queue vectors: placement, apply, verify, rollback, a kernel-managed vector, irqbalance, and GPUs without NVML.</summary>
public class GpuIrqTests
{
    // pcie-3gpu-msix: node 0 = CPUs 0-7 with GPU0 (vectors 300-302), GPU1 (310-311) and the NIC (queues on 81-84);
    // GPU2 on node 1 is bound to vfio-pci (320-321). The profile reserves CPUs 1-2 of the NIC's node.
    private static TuningSetup Setup(HostFixture host, IGpuSource? gpus = null, HostRoots? roots = null) =>
        TuningSetup.Create(new TuningOptions
        {
            Profile = TuningProfile.GpuHost,
            Only = new HashSet<string> { "irq" },
            RunDirectory = Path.Combine(host.Root, "run"),
        }, TopologyDiscovery.Discover(roots ?? host.Roots, gpus ?? host.GpuSource), roots ?? host.Roots);

    private static string Affinity(HostFixture host, int irq) => File.ReadAllText(host.Proc($"irq/{irq}/smp_affinity_list")).Trim();

    [Fact]
    public void Gpu_vectors_go_to_node_local_cpus_outside_the_reserved_ones_after_the_nic_queues_of_the_node()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        var setup = Setup(host);

        Assert.Equal("1-2", setup.HotCpus.ToList());
        var byIrq = setup.IrqAssignments.ToDictionary(a => a.Irq, a => a.Cpu);
        // Free CPUs of node 0: 0,3,4,5,6,7. The NIC's four queues take 0,3,4,5; GPU0's three vectors continue at 6,7 and
        // wrap to 0; GPU1's two take 3 and 4.
        Assert.Equal([0, 3, 4, 5], new[] { 81, 82, 83, 84 }.Select(i => byIrq[i]));
        Assert.Equal([6, 7, 0], new[] { 300, 301, 302 }.Select(i => byIrq[i]));
        Assert.Equal([3, 4], new[] { 310, 311 }.Select(i => byIrq[i]));
        Assert.All(setup.IrqAssignments, a => Assert.False(setup.HotCpus.Contains(a.Cpu)));

        // The GPU passed to a guest keeps its vectors where they are, and the plan says why.
        Assert.DoesNotContain(setup.IrqAssignments, a => a.Irq is 320 or 321);
        Assert.Contains(setup.Facts, f => f.StartsWith("GPU interrupts left alone", StringComparison.Ordinal) && f.Contains("GPU2 (vfio-pci)", StringComparison.Ordinal));
        Assert.Contains(setup.Facts, f => f.StartsWith("GPU interrupts: 5 vector(s) of GPU0, GPU1", StringComparison.Ordinal));

        var gpu0 = Assert.Single(setup.Engine.Plan(), c => c.Target == "irq/300");
        Assert.Equal(("0-15", "6", ChangeState.Differs), (gpu0.Current, gpu0.Desired, gpu0.State));
        Assert.Equal("GPU0 (0000:01:00.0) nvidia vector 0", gpu0.Note);
        Assert.Equal("0-15", Affinity(host, 300)); // plan wrote nothing
    }

    [Fact]
    public void Gpu_vectors_apply_verify_and_roll_back_with_the_nic_queues()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        var setup = Setup(host);

        var report = setup.Engine.Apply();

        Assert.True(report.Succeeded);
        Assert.Equal(9, report.Count(OutcomeState.Done)); // 4 NIC queues, 3 + 2 GPU vectors
        Assert.Equal(["6", "7", "0", "3", "4"], new[] { 300, 301, 302, 310, 311 }.Select(i => Affinity(host, i)));
        Assert.Equal("0-15", Affinity(host, 320));
        Assert.Empty(setup.Engine.Verify());

        File.WriteAllText(host.Proc("irq/311/smp_affinity_list"), "9\n"); // moved off its node by someone else
        var drift = Assert.Single(setup.Engine.Verify());
        Assert.Equal(("irq/311", "9", "4"), (drift.Target, drift.Current, drift.Desired));

        Assert.True(setup.Engine.Rollback().Succeeded);
        Assert.All(new[] { 81, 300, 301, 302, 310, 311 }, i => Assert.Equal("0-15", Affinity(host, i)));
        Assert.False(File.Exists(setup.Engine.Store.Path));
    }

    [Fact]
    public void A_kernel_managed_gpu_vector_is_reported_not_settable_and_the_others_still_apply()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        var setup = Setup(host);

        // write_irq_affinity() answers EIO for a managed interrupt; the kernel file stays as it was.
        var tuner = new IrqAffinityTuner(host.Roots.Proc, setup.IrqAssignments, (path, text) =>
        {
            if (path.Contains("/irq/301/", StringComparison.Ordinal))
            {
                throw new IOException("Input/output error", 5);
            }

            KernelFile.WriteOnce(path, text);
        });
        var engine = new TuningEngine("gpu-host", [tuner], new SnapshotStore(Path.Combine(host.Root, "run")));

        var report = engine.Apply();

        Assert.True(report.Succeeded);
        var managed = Assert.Single(report.Outcomes, o => o.Target == "irq/301");
        Assert.Equal(OutcomeState.Unsupported, managed.State);
        Assert.Contains("not settable", managed.Note, StringComparison.Ordinal);
        Assert.Equal("0-15", Affinity(host, 301));
        Assert.Equal("6", Affinity(host, 300));
        Assert.Equal("0", Affinity(host, 302));
        // Nothing changed on the managed vector, so the snapshot does not hold it: rollback restores the others only.
        var rollback = engine.Rollback();
        Assert.True(rollback.Succeeded);
        Assert.DoesNotContain(rollback.Outcomes, o => o.Target == "irq/301");
        Assert.Equal("0-15", Affinity(host, 300));
    }

    [Fact]
    public void Irqbalance_is_told_to_leave_the_gpu_vectors_alone_too()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        Directory.CreateDirectory(host.Proc("777"));
        File.WriteAllText(host.Proc("777/comm"), "irqbalance\n");
        var setup = Setup(host);

        var args = Assert.Single(setup.Engine.Plan(), c => c is { Kind: IrqBalanceTuner.Kind, Key: "IRQBALANCE_ARGS" });

        Assert.Equal("--banirq=81 --banirq=82 --banirq=83 --banirq=84 --banirq=300 --banirq=301 --banirq=302 --banirq=310 --banirq=311", args.Desired);
    }

    [Fact]
    public void Without_nvml_the_gpus_are_found_in_sysfs_and_named_by_pci_address()
    {
        using var host = HostFixture.Create("pcie-3gpu-msix");
        var noNvml = new DescribedGpuSource(GpuInventory.Unavailable("libnvidia-ml.so.1 not found"));

        var topology = TopologyDiscovery.Discover(host.Roots, noNvml);
        var setup = Setup(host, noNvml);

        Assert.Equal(["0000:01:00.0", "0000:02:00.0", "0000:81:00.0"], topology.GpuFunctions.Select(g => g.Label));
        Assert.Equal([0, 0, 1], topology.GpuFunctions.Select(g => g.NumaNode ?? -1));
        Assert.Equal(["nvidia", "nvidia", "nvidia", "nvidia", "nvidia", "vfio-msix[0](0000:81:00.0)", "vfio-msix[1](0000:81:00.0)"],
            topology.GpuFunctions.SelectMany(g => g.Irqs).Select(i => i.Name));
        var gpu = Assert.Single(setup.IrqAssignments, a => a.Irq == 310);
        Assert.Equal(("0000:02:00.0", 3, "0000:02:00.0 nvidia vector 0"), (gpu.Device, gpu.Cpu, gpu.Label));
    }
}
