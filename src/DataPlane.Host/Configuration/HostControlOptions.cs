using DataPlane.Hosting.Configuration;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Host.Configuration;

/// <summary>The daemon's host-control settings: topology discovery for metrics and the admin endpoint
/// (<c>Topology</c> section) and tuning at start (<c>Tuning</c> section). Nothing is changed on the host unless
/// <see cref="ApplyAtStart"/> is set with a profile.</summary>
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

    /// <summary>Areas of the profile to include (sysctl, nic, irq); null: all.</summary>
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
        Only = Areas,
        RunDirectory = RunDirectory,
    };

    /// <summary>Binds the <c>Topology</c> and <c>Tuning</c> sections.</summary>
    internal static HostControlOptions Bind(ConfigBinder b)
    {
        string profileName = b.String("Tuning:Profile", "");
        TuningProfile? profile = null;
        if (profileName.Length > 0)
        {
            profile = TuningProfile.All.FirstOrDefault(p => p.Name == profileName);
            if (profile is null)
            {
                b.Error("Tuning:Profile", $"unknown profile '{profileName}' (known: {string.Join(", ", TuningProfile.All.Select(p => p.Name))}; empty for none)");
            }
        }

        CpuSet? hot = null;
        string hotText = b.String("Tuning:HotCpus", "");
        if (hotText.Length > 0)
        {
            try
            {
                hot = CpuSet.ParseList(hotText);
            }
            catch (FormatException e)
            {
                b.Error("Tuning:HotCpus", e.Message);
            }
        }

        bool apply = b.Bool("Tuning:ApplyAtStart", false);
        if (apply && profile is null)
        {
            b.Error("Tuning:ApplyAtStart", "true needs Tuning:Profile (gpu-host or pi-edge)");
        }

        string sysctlFile = b.String("Tuning:SysctlFile", "");
        if (sysctlFile.Length > 0 && !File.Exists(sysctlFile))
        {
            b.Error("Tuning:SysctlFile", $"{sysctlFile} does not exist");
        }

        var nics = b.StringList("Tuning:Nics", []);
        var areas = b.StringList("Tuning:Areas", []);
        foreach (var area in areas.Where(a => !TuningOptions.Areas.Contains(a)))
        {
            b.Error("Tuning:Areas", $"unknown area '{area}' (known: {string.Join(", ", TuningOptions.Areas)})");
        }

        string nvml = b.String("Topology:NvmlLibrary", "");
        return new HostControlOptions
        {
            TopologyEnabled = b.Bool("Topology:Enabled", true),
            NvmlLibrary = nvml.Length > 0 ? nvml : null,
            Roots = new HostRoots(b.String("Topology:SysfsRoot", "/sys"), b.String("Topology:ProcfsRoot", "/proc"), b.String("Topology:EtcRoot", "/etc")),
            RefreshInterval = b.Seconds("Topology:RefreshSeconds", TimeSpan.FromSeconds(15), 1, 3600),
            Profile = profile,
            ApplyAtStart = apply,
            Nics = nics.Count > 0 ? nics : null,
            HotCpus = hot,
            LockMemory = b.Bool("Tuning:LockMemory", false),
            SysctlFile = sysctlFile.Length > 0 ? sysctlFile : null,
            Areas = areas.Count > 0 ? areas.ToHashSet(StringComparer.Ordinal) : null,
            RunDirectory = b.String("Tuning:RunDirectory", SnapshotStore.DefaultDirectory),
        };
    }
}
