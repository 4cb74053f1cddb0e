using DataPlane.Topology.Model;
using DataPlane.Tuning.Boot;
using DataPlane.Tuning.Irq;
using DataPlane.Tuning.Nic;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Sysctl;

namespace DataPlane.Tuning.Profiles;

/// <summary>What an operator asked for on the command line or in the <c>Tuning</c> configuration section.</summary>
public sealed record TuningOptions
{
    /// <summary>The profile.</summary>
    public required TuningProfile Profile { get; init; }

    /// <summary>A sysctl.d file used instead of the profile's embedded one.</summary>
    public string? SysctlFile { get; init; }

    /// <summary>Data-path NICs by netdev name; null picks them (every NIC with an RDMA device, else every PCI NIC at 25 Gb/s or more).</summary>
    public IReadOnlyList<string>? Nics { get; init; }

    /// <summary>CPUs reserved for hot threads; null picks <see cref="TuningProfile.HotCpuCount"/> CPUs on the first
    /// data-path NIC's NUMA node, after that node's first CPU (left to housekeeping).</summary>
    public CpuSet? HotCpus { get; init; }

    /// <summary>Areas to include: "sysctl", "nic", "irq", "isolation"; null or empty includes every area the profile has.</summary>
    public IReadOnlySet<string>? Only { get; init; }

    /// <summary>Directory of the rollback snapshot.</summary>
    public string RunDirectory { get; init; } = SnapshotStore.DefaultDirectory;

    /// <summary>The areas known to <see cref="Only"/>: the runtime ones and the boot-time "isolation".</summary>
    public static IReadOnlyList<string> Areas { get; } = ["sysctl", "nic", "irq", "isolation"];

    /// <summary>The areas that change the running host (every area but the boot-time "isolation"): what the daemon
    /// applies at start unless its configuration names areas.</summary>
    public static IReadOnlyList<string> RuntimeAreas { get; } = ["sysctl", "nic", "irq"];
}

/// <summary>Creates the NIC tuner for the chosen interfaces (kept as a seam so tests can model NIC drivers).</summary>
public delegate ITuner NicTunerFactory(IReadOnlyList<string> interfaces);

/// <summary>The tuners of a profile for one host, and the facts an operator should see with the plan.</summary>
/// <param name="Engine">Plan, apply, verify, rollback.</param>
/// <param name="HotCpus">CPUs reserved for the daemon's hot threads (empty: none).</param>
/// <param name="Nics">Data-path NICs.</param>
/// <param name="IrqAssignments">Where each data-path queue IRQ and GPU IRQ should run (empty when the profile pins none).</param>
/// <param name="Facts">Context lines: what was chosen and why, irqbalance, privileges.</param>
public sealed record TuningSetup(TuningEngine Engine, CpuSet HotCpus, IReadOnlyList<NicDevice> Nics, IReadOnlyList<IrqAssignment> IrqAssignments, IReadOnlyList<string> Facts)
{
    /// <summary>Builds the tuners for <paramref name="topology"/> as <paramref name="options"/> ask.</summary>
    /// <param name="options">What to tune.</param>
    /// <param name="topology">The host as discovery found it.</param>
    /// <param name="roots">Where procfs and /etc are written.</param>
    /// <param name="nicTuner">Creates the NIC tuner; default: the ethtool ioctl on the real interfaces with the
    /// low-latency settings.</param>
    public static TuningSetup Create(TuningOptions options, HostTopology topology, HostRoots roots, NicTunerFactory? nicTuner = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(roots);
        nicTuner ??= interfaces => new NicTuner(interfaces, NicSettings.LatencyDefaults);
        var profile = options.Profile;
        bool Wants(string area) => options.Only is not { Count: > 0 } || options.Only.Contains(area);
        var facts = new List<string>();
        var tuners = new List<ITuner>();
        IReadOnlyList<IrqAssignment> assignments = [];

        var nics = SelectNics(options, topology, facts);
        var hot = options.HotCpus ?? AutoHotCpus(profile, topology, nics);
        facts.Add(hot.IsEmpty ? "hot-path CPUs: none reserved" : $"hot-path CPUs: {hot.ToList()} (batch dispatch and completion polling threads; no queue IRQs go there)");

        if (Wants("sysctl"))
        {
            tuners.Add(new SysctlTuner(roots.Proc, profile.LoadSysctls(options.SysctlFile)));
        }

        if (Wants("nic") && profile.TuneNics && nics.Count > 0)
        {
            tuners.Add(nicTuner(nics.Select(n => n.Name).ToList()));
        }

        var gpus = Wants("irq") && profile.PinIrqs ? SelectGpus(topology, facts) : [];
        if (Wants("irq") && profile.PinIrqs && (nics.Count > 0 || gpus.Count > 0))
        {
            assignments = IrqPlanner.Assign(topology, nics, gpus, hot);
            tuners.Add(new IrqAffinityTuner(roots.Proc, assignments));
            if (IrqBalanceTuner.IsRunning(roots.Proc))
            {
                string file = IrqBalanceTuner.EnvironmentFile(roots.Etc);
                facts.Add($"irqbalance is running: its configuration {file} bans our IRQs and the hot-path CPUs; restart or stop irqbalance after apply");
                tuners.Add(new IrqBalanceTuner(file, hot.ToList(), assignments.Select(a => a.Irq)));
            }
            else
            {
                facts.Add("irqbalance is not running");
            }
        }

        if (Wants("isolation") && profile.IsolateHotCpus)
        {
            var housekeeping = topology.OnlineCpus.Except(hot);
            if (hot.IsEmpty)
            {
                facts.Add("CPU isolation: none (no hot-path CPUs reserved)");
            }
            else if (housekeeping.IsEmpty)
            {
                facts.Add($"CPU isolation: none (the hot-path CPUs {hot.ToList()} are every online CPU; nothing would be left for housekeeping)");
            }
            else
            {
                var isolation = new CpuIsolationTuner(roots.Proc, roots.Etc, hot, housekeeping);
                facts.Add($"CPU isolation (boot-time): {string.Join(' ', isolation.Wanted.Select(w => $"{w.Key}={w.Value}"))} through {isolation.DropIn}; "
                    + $"apply writes only that file: {CpuIsolationTuner.RebootNotice}");
                tuners.Add(isolation);
            }
        }

        return new TuningSetup(new TuningEngine(profile.Name, tuners, new SnapshotStore(options.RunDirectory)), hot, nics, assignments, facts);
    }

    /// <summary>GPUs whose interrupts are pinned: every GPU function bound to the nvidia driver with MSI vectors. A GPU
    /// bound to another driver (vfio-pci for a guest, nouveau) is left alone and said so.</summary>
    private static List<GpuFunction> SelectGpus(HostTopology topology, List<string> facts)
    {
        var chosen = topology.GpuFunctions.Where(g => g.Driver == "nvidia" && g.Irqs.Count > 0).ToList();
        var other = topology.GpuFunctions.Where(g => g.Driver != "nvidia").ToList();
        if (chosen.Count > 0)
        {
            facts.Add($"GPU interrupts: {chosen.Sum(g => g.Irqs.Count)} vector(s) of {string.Join(", ", chosen.Select(g => g.Label))} (nvidia driver), pinned on each GPU's NUMA node");
        }

        if (other.Count > 0)
        {
            facts.Add($"GPU interrupts left alone (not bound to the nvidia driver): {string.Join(", ", other.Select(g => $"{g.Label} ({(g.Driver.Length > 0 ? g.Driver : "no driver")})"))}");
        }

        return chosen;
    }

    private static List<NicDevice> SelectNics(TuningOptions options, HostTopology topology, List<string> facts)
    {
        if (options.Nics is { Count: > 0 } names)
        {
            // A name sysfs does not show as a PCI NIC (a virtual interface, or one in another network namespace than
            // the sysfs mount) is still tuned through ethtool, without IRQ pinning; a typo shows up in the plan as
            // "no such interface".
            var configured = names.Select(name => topology.Nics.FirstOrDefault(n => n.Name == name)
                ?? new NicDevice(name, default, null, CpuSet.Empty, "", null, null, [])).ToList();
            var unknown = names.Where(n => topology.Nics.All(nic => nic.Name != n)).ToList();
            facts.Add($"data-path NICs (configured): {string.Join(", ", names)}");
            if (unknown.Count > 0)
            {
                facts.Add($"not PCI NICs in sysfs (NIC settings through ethtool only, no IRQ pinning): {string.Join(", ", unknown)}");
            }

            return configured;
        }

        var rdma = topology.Nics.Where(n => n.RdmaDevice is not null).ToList();
        var chosen = rdma.Count > 0 ? rdma : topology.Nics.Where(n => n.SpeedMbps >= 25_000).ToList();
        facts.Add(chosen.Count == 0
            ? "data-path NICs: none found (no RDMA device, no PCI NIC at 25 Gb/s or more); name them with --nics"
            : $"data-path NICs ({(rdma.Count > 0 ? "with an RDMA device" : "25 Gb/s or more")}): {string.Join(", ", chosen.Select(n => n.Name))}");
        return chosen;
    }

    private static CpuSet AutoHotCpus(TuningProfile profile, HostTopology topology, List<NicDevice> nics)
    {
        if (profile.HotCpuCount == 0)
        {
            return CpuSet.Empty;
        }

        int? node = nics.Select(n => n.NumaNode).FirstOrDefault(n => n is not null);
        var cpus = topology.NumaNodes.FirstOrDefault(n => n.Id == (node ?? 0))?.Cpus ?? topology.OnlineCpus;
        if (!topology.OnlineCpus.IsEmpty)
        {
            cpus = cpus.Intersect(topology.OnlineCpus);
        }

        // Keep the node's first CPU for housekeeping (it takes timers and unbound work on most systems), and leave at
        // least one CPU of the node for the NIC's interrupts.
        return cpus.Count < profile.HotCpuCount + 2 ? CpuSet.Empty : CpuSet.Of(cpus.Cpus.Skip(1).Take(profile.HotCpuCount));
    }
}
