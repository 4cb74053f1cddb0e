using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Irq;

/// <summary>Keeps irqbalance off the interrupts we pin and off the reserved cores, through its documented environment
/// file (<c>/etc/default/irqbalance</c> on Debian and Ubuntu, <c>/etc/sysconfig/irqbalance</c> on RHEL):
/// <c>IRQBALANCE_BANNED_CPULIST</c> bans the hot-path CPUs and <c>IRQBALANCE_ARGS</c> carries one <c>--banirq</c> per
/// pinned IRQ. irqbalance reads the file when it starts, so the plan says it must be restarted; DataPlane never
/// restarts other services itself. Without a writable file the plan says irqbalance must be stopped instead.</summary>
public sealed class IrqBalanceTuner : ITuner
{
    /// <summary>The kind of the changes this tuner makes.</summary>
    public const string Kind = "irqbalance";

    /// <summary>The original of a variable the file did not set.</summary>
    public const string Unset = "<unset>";

    private const string RestartNote = "irqbalance reads this at start: run 'systemctl restart irqbalance' (or stop it) after apply and rollback";
    private readonly string _file;
    private readonly IReadOnlyList<(string Key, string Value)> _wanted;

    public IrqBalanceTuner(string environmentFile, string bannedCpus, IEnumerable<int> bannedIrqs)
    {
        _file = environmentFile;
        string args = string.Join(' ', bannedIrqs.Order().Select(i => $"--banirq={i}"));
        _wanted = [("IRQBALANCE_BANNED_CPULIST", bannedCpus), ("IRQBALANCE_ARGS", args)];
    }

    public IReadOnlyCollection<string> Kinds { get; } = [Kind];

    /// <summary>True when a process named irqbalance runs (scans <c>/proc/[pid]/comm</c>).</summary>
    public static bool IsRunning(string procRoot)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(procRoot))
            {
                string name = Path.GetFileName(dir);
                if (name.Length == 0 || !name.All(char.IsAsciiDigit))
                {
                    continue;
                }

                try
                {
                    if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "irqbalance")
                    {
                        return true;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The process exited while we looked, or its comm is hidden: not irqbalance as far as we can tell.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return false;
    }

    /// <summary>The environment file of the distribution: the one that exists, else Debian's.</summary>
    public static string EnvironmentFile(string etcRoot)
    {
        string debian = Path.Combine(etcRoot, "default", "irqbalance");
        string redHat = Path.Combine(etcRoot, "sysconfig", "irqbalance");
        return !File.Exists(debian) && File.Exists(redHat) ? redHat : debian;
    }

    public IReadOnlyList<TuningChange> Plan()
    {
        Dictionary<string, string> current;
        try
        {
            current = File.Exists(_file) ? Parse(File.ReadAllLines(_file)) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return _wanted.Select(w => new TuningChange(Kind, _file, w.Key, null, w.Value, ChangeState.Error,
                $"irqbalance is running and {_file} cannot be read ({e.Message}): stop irqbalance before pinning IRQs")).ToList();
        }

        return _wanted.Select(w =>
        {
            string now = current.GetValueOrDefault(w.Key, Unset);
            return new TuningChange(Kind, _file, w.Key, now, w.Value, now == w.Value ? ChangeState.InPlace : ChangeState.Differs, RestartNote);
        }).ToList();
    }

    public string Apply(TuningChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Set(change.Key, change.Desired);
        return change.Desired;
    }

    public void Restore(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Set(entry.Key, entry.Original);
    }

    private void Set(string key, string value)
    {
        try
        {
            var lines = File.Exists(_file) ? File.ReadAllLines(_file).ToList() : [];
            lines.RemoveAll(l => KeyOf(l) == key);
            if (value != Unset)
            {
                lines.Add($"{key}=\"{value}\"");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            File.WriteAllLines(_file + ".tmp", lines);
            File.Move(_file + ".tmp", _file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TuningException($"irqbalance: cannot write {key} to {_file} ({e.Message}); stop irqbalance before pinning IRQs instead", e);
        }
    }

    private static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            string? key = KeyOf(line);
            if (key is not null)
            {
                values[key] = line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim().Trim('"', '\'');
            }
        }

        return values;
    }

    private static string? KeyOf(string line)
    {
        string t = line.Trim();
        int eq = t.IndexOf('=', StringComparison.Ordinal);
        return t.Length == 0 || t[0] == '#' || eq <= 0 ? null : t[..eq].Trim();
    }
}
