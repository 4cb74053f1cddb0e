using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.HostControl;

/// <summary>The daemon's host-control settings: topology discovery for metrics and the admin endpoint
/// (<c>Topology</c> section) and tuning at start (<c>Tuning</c> section), bound from configuration by the executable.
/// Nothing is changed on the host unless <see cref="ApplyAtStart"/> is set with a profile.</summary>
public sealed record HostControlOptions
{
    /// <summary>Discover GPUs and NICs at start and export them (default true).</summary>
    public bool TopologyEnabled { get; init; } = true;

    /// <summary>NVML library to load (default: libnvidia-ml.so.1 through the loader path).</summary>
    public string? NvmlLibrary { get; init; }

    /// <summary>Where sysfs, procfs and /etc are read from (fixture trees in tests).</summary>
    public HostRoots Roots { get; init; } = HostRoots.Real;

    /// <summary>Least time between two refreshes of NVLink counters, link states and drift for metrics (default 15 s).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Profile to verify (drift metrics) and, with <see cref="ApplyAtStart"/>, to apply; null: none.</summary>
    public TuningProfile? Profile { get; init; }

    /// <summary>Apply the profile when the daemon starts (default false).</summary>
    public bool ApplyAtStart { get; init; }

    /// <summary>Tuning options other than the profile (NICs, hot CPUs, sysctl file, areas, run directory).</summary>
    public IReadOnlyList<string>? Nics { get; init; }

    /// <summary>CPUs for the hot threads; null: the profile's automatic choice when a profile is set, else none.</summary>
    public CpuSet? HotCpus { get; init; }

    /// <summary>Lock the daemon's memory (mlockall) at start (default false; needs CAP_IPC_LOCK or LimitMEMLOCK=infinity).</summary>
    public bool LockMemory { get; init; }

    /// <summary>A sysctl.d file instead of the profile's.</summary>
    public string? SysctlFile { get; init; }

    /// <summary>Areas of the profile to include (sysctl, nic, irq, isolation); null: the runtime ones
    /// (<see cref="TuningOptions.RuntimeAreas"/>): the daemon writes the boot configuration only when told to.</summary>
    public IReadOnlySet<string>? Areas { get; init; }

    /// <summary>Directory of the rollback snapshot (default /run/dataplane).</summary>
    public string RunDirectory { get; init; } = SnapshotStore.DefaultDirectory;

    /// <summary>Tuning options for <paramref name="profile"/>.</summary>
    public TuningOptions TuningFor(TuningProfile profile) => new()
    {
        Profile = profile,
        Nics = Nics,
        HotCpus = HotCpus,
        SysctlFile = SysctlFile,
        Only = Areas ?? TuningOptions.RuntimeAreas.ToHashSet(StringComparer.Ordinal),
        RunDirectory = RunDirectory,
    };
}
