using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Sysctl;

/// <summary>Kernel settings through /proc/sys: read, compare with the profile, write one key, restore an original.</summary>
public sealed class SysctlTuner : ITuner
{
    /// <summary>The kind of the changes this tuner makes.</summary>
    public const string Kind = "sysctl";

    private const string Target = "kernel";
    private readonly string _procSys;
    private readonly IReadOnlyList<SysctlSetting> _settings;

    /// <param name="procRoot">procfs root ("/proc", or a fixture tree).</param>
    /// <param name="settings">The profile's settings.</param>
    public SysctlTuner(string procRoot, IReadOnlyList<SysctlSetting> settings)
    {
        _procSys = Path.Combine(procRoot, "sys");
        _settings = settings;
    }

    public IReadOnlyCollection<string> Kinds { get; } = [Kind];

    public IReadOnlyList<TuningChange> Plan() => _settings.Select(PlanOne).ToList();

    public string Apply(TuningChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Write(change.Key, change.Desired);
        return Read(change.Key);
    }

    public void Restore(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Write(entry.Key, entry.Original);
    }

    private TuningChange PlanOne(SysctlSetting s)
    {
        string path = PathOf(s.Key);
        if (!File.Exists(path))
        {
            return new TuningChange(Kind, Target, s.Key, null, s.Value, ChangeState.Unsupported, "no such key on this kernel (or not in this network namespace)");
        }

        try
        {
            string current = Read(s.Key);
            return new TuningChange(Kind, Target, s.Key, current, s.Value, current == s.Value ? ChangeState.InPlace : ChangeState.Differs);
        }
        catch (TuningException e)
        {
            return new TuningChange(Kind, Target, s.Key, null, s.Value, ChangeState.Error, e.Message);
        }
    }

    private string PathOf(string key) => Path.Combine(_procSys, new SysctlSetting(key, "").ProcPath);

    private string Read(string key) => SysctlFile.Normalize(KernelFile.Read(PathOf(key), $"sysctl {key}"));

    private void Write(string key, string value) =>
        KernelFile.Write(PathOf(key), value, $"sysctl {key}", "kernel.* and vm.* need root; net.* needs CAP_NET_ADMIN", "value out of range or malformed");
}
