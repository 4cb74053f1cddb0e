using DataPlane.HostControl;
using DataPlane.Hosting.Configuration;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;

namespace DataPlane.Host.Configuration;

/// <summary>Binds the <c>Topology</c> and <c>Tuning</c> sections to <see cref="HostControlOptions"/>, naming every bad key.</summary>
internal static class HostControlBinding
{
    /// <summary>Binds the <c>Topology</c> and <c>Tuning</c> sections.</summary>
    public static HostControlOptions Bind(ConfigBinder b)
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
