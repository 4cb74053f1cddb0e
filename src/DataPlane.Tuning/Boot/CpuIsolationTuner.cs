using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Boot;

/// <summary>CPU isolation for the hot-path CPUs as a boot-time change: <c>isolcpus=managed_irq,domain,&lt;hot&gt;
/// nohz_full=&lt;hot&gt; rcu_nocbs=&lt;hot&gt; irqaffinity=&lt;the other online CPUs&gt;</c> on the kernel command line
/// (tuned's cpu-partitioning profile sets the same). The kernel reads these only at boot, so:
/// <list type="bullet">
/// <item>plan compares each argument with the running kernel's <c>/proc/cmdline</c>: in place, pending reboot (our
/// drop-in has it, the running kernel does not yet), or to change;</item>
/// <item>apply writes one GRUB drop-in, <c>/etc/default/grub.d/90-dataplane-isolation.cfg</c>, which appends the
/// arguments to <c>GRUB_CMDLINE_LINUX</c> (Debian and Ubuntu's grub-mkconfig reads <c>grub.d/*.cfg</c> after
/// <c>/etc/default/grub</c>); it never runs <c>update-grub</c> and never reboots: the report says both are needed;</item>
/// <item>rollback restores the drop-in as it was (removes it when there was none); a drop-in left by an apply whose
/// snapshot a reboot removed is recognised by its first line and removed too.</item>
/// </list>
/// Hosts without a Debian-style GRUB configuration get the arguments reported as unsupported, with the command that
/// adds them elsewhere (<c>grubby</c>).</summary>
public sealed class CpuIsolationTuner : IPersistentTuner
{
    /// <summary>The kind of the changes this tuner makes.</summary>
    public const string Kind = "cmdline";

    /// <summary>The drop-in's name in <c>/etc/default/grub.d</c>.</summary>
    public const string DropInName = "90-dataplane-isolation.cfg";

    /// <summary>The variable the drop-in appends to.</summary>
    public const string Variable = "GRUB_CMDLINE_LINUX";

    /// <summary>The original of a drop-in that did not exist.</summary>
    public const string Absent = "<absent>";

    /// <summary>The first line of every drop-in this tuner writes: how rollback knows the file is ours.</summary>
    public const string Marker = "# Written by 'dataplane tune apply' (CPU isolation for the hot-path CPUs); 'dataplane tune rollback' removes it.";

    /// <summary>What an operator must do after apply or rollback changed the drop-in.</summary>
    public const string RebootNotice = "the kernel command line changes at boot: run update-grub, then reboot";

    private readonly string _cmdline;
    private readonly string _grubDefaults;
    private readonly string _debianVersion;
    private readonly IReadOnlyList<(string Key, string Value)> _wanted;

    /// <param name="procRoot">procfs root (<c>/proc/cmdline</c> is read there).</param>
    /// <param name="etcRoot">configuration root (<c>default/grub</c>, <c>default/grub.d/</c>).</param>
    /// <param name="isolated">The hot-path CPUs; not empty.</param>
    /// <param name="housekeeping">The other online CPUs, which keep every other interrupt; not empty.</param>
    public CpuIsolationTuner(string procRoot, string etcRoot, CpuSet isolated, CpuSet housekeeping)
    {
        ArgumentNullException.ThrowIfNull(isolated);
        ArgumentNullException.ThrowIfNull(housekeeping);
        if (isolated.IsEmpty || housekeeping.IsEmpty)
        {
            throw new ArgumentException("CPU isolation needs at least one isolated and one housekeeping CPU");
        }

        _cmdline = Path.Combine(procRoot, "cmdline");
        _grubDefaults = Path.Combine(etcRoot, "default", "grub");
        _debianVersion = Path.Combine(etcRoot, "debian_version");
        DropIn = Path.Combine(etcRoot, "default", "grub.d", DropInName);
        _wanted = Arguments(isolated, housekeeping);
    }

    /// <summary>The drop-in file apply writes.</summary>
    public string DropIn { get; }

    /// <summary>The arguments wanted on the kernel command line, in the order they are written.</summary>
    public IReadOnlyList<(string Key, string Value)> Wanted => _wanted;

    public IReadOnlyCollection<string> Kinds { get; } = [Kind];

    /// <summary>The kernel arguments that isolate <paramref name="isolated"/> and keep interrupts on <paramref name="housekeeping"/>.</summary>
    public static IReadOnlyList<(string Key, string Value)> Arguments(CpuSet isolated, CpuSet housekeeping)
    {
        ArgumentNullException.ThrowIfNull(isolated);
        ArgumentNullException.ThrowIfNull(housekeeping);
        string hot = isolated.ToList();
        return [("isolcpus", "managed_irq,domain," + hot), ("nohz_full", hot), ("rcu_nocbs", hot), ("irqaffinity", housekeeping.ToList())];
    }

    public IReadOnlyList<TuningChange> Plan()
    {
        if (!File.Exists(_grubDefaults) || !(Directory.Exists(Path.GetDirectoryName(DropIn)) || File.Exists(_debianVersion)))
        {
            string args = string.Join(' ', _wanted.Select(w => $"{w.Key}={w.Value}"));
            return Rows(null, (_, _) => (ChangeState.Unsupported,
                $"boot-time; no Debian-style GRUB configuration ({_grubDefaults} with grub.d/): add the arguments with the bootloader's tool, e.g. grubby --update-kernel=ALL --args=\"{args}\""), null);
        }

        Dictionary<string, string> running;
        string? original;
        Dictionary<string, string> configured;
        try
        {
            running = ParseCommandLine(File.ReadAllText(_cmdline));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Rows(null, (_, _) => (ChangeState.Error, $"boot-time; cannot read {_cmdline}: {e.Message}"), null);
        }

        try
        {
            original = File.Exists(DropIn) ? File.ReadAllText(DropIn) : null;
            configured = original is null ? [] : ParseDropIn(original);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Rows(running, (_, _) => (ChangeState.Error, $"boot-time; cannot read {DropIn}: {e.Message}"), null);
        }

        return Rows(running, (key, wanted) =>
        {
            if (running.TryGetValue(key, out string? now) && SameValue(key, now, wanted))
            {
                return (ChangeState.InPlace, "boot-time; in /proc/cmdline");
            }

            if (configured.TryGetValue(key, out string? written) && SameValue(key, written, wanted))
            {
                return (ChangeState.PendingReboot, $"boot-time; in {DropIn}, not yet in /proc/cmdline: {RebootNotice}");
            }

            return (ChangeState.Differs, $"boot-time; apply writes {DropIn}, then {RebootNotice}");
        }, original ?? Absent);
    }

    public string Apply(TuningChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Write(Render(_wanted));
        return change.Desired;
    }

    public void Restore(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Original == Absent)
        {
            try
            {
                File.Delete(DropIn);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TuningException($"cannot remove {DropIn} ({e.Message})", e);
            }
        }
        else
        {
            Write(entry.Original);
        }
    }

    public IReadOnlyList<SnapshotEntry> Leftovers(IReadOnlyCollection<SnapshotEntry> covered)
    {
        ArgumentNullException.ThrowIfNull(covered);
        if (covered.Any(e => e.Kind == Kind && e.Target == DropIn))
        {
            return [];
        }

        try
        {
            return File.Exists(DropIn) && File.ReadLines(DropIn).FirstOrDefault() == Marker
                ? [new SnapshotEntry(Kind, DropIn, Variable, Absent)]
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The drop-in's text for <paramref name="arguments"/>.</summary>
    public static string Render(IReadOnlyList<(string Key, string Value)> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return $"{Marker}\n# Takes effect after update-grub and a reboot.\n{Variable}=\"${Variable} {string.Join(' ', arguments.Select(a => $"{a.Key}={a.Value}"))}\"\n";
    }

    /// <summary>The arguments of a kernel command line (<c>/proc/cmdline</c>), the last of each name winning as the kernel
    /// parses them; an argument without '=' has an empty value. Double-quoted values keep their blanks.</summary>
    public static Dictionary<string, string> ParseCommandLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string word in Words(text))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            args[eq < 0 ? word : word[..eq]] = eq < 0 ? "" : word[(eq + 1)..];
        }

        return args;
    }

    /// <summary>The arguments a drop-in appends: the words of its <c>GRUB_CMDLINE_LINUX=</c> line after
    /// <c>$GRUB_CMDLINE_LINUX</c>.</summary>
    private static Dictionary<string, string> ParseDropIn(string text)
    {
        string? line = text.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(Variable + "=", StringComparison.Ordinal));
        if (line is null)
        {
            return [];
        }

        string value = line[(Variable.Length + 1)..].Trim().Trim('"').Replace("${" + Variable + "}", "", StringComparison.Ordinal)
            .Replace("$" + Variable, "", StringComparison.Ordinal);
        return ParseCommandLine(value);
    }

    /// <summary>Values compare as the kernel reads them: CPU lists as sets ("1,2" is "1-2"), isolcpus' flags in any order.</summary>
    private static bool SameValue(string key, string a, string b)
    {
        if (a == b)
        {
            return true;
        }

        var (flagsA, cpusA) = Split(a, key == "isolcpus");
        var (flagsB, cpusB) = Split(b, key == "isolcpus");
        return cpusA is not null && cpusB is not null && cpusA.Equals(cpusB) && flagsA.SetEquals(flagsB);
    }

    private static (HashSet<string> Flags, CpuSet? Cpus) Split(string value, bool flags)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var named = flags ? parts.TakeWhile(p => p.Length > 0 && char.IsAsciiLetter(p[0])).ToHashSet(StringComparer.Ordinal) : [];
        return (named, CpuSet.TryParseList(string.Join(',', parts.Skip(named.Count))));
    }

    private static IEnumerable<string> Words(string text)
    {
        var word = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && char.IsWhiteSpace(c))
            {
                if (word.Length > 0)
                {
                    yield return word.ToString();
                    word.Clear();
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            yield return word.ToString();
        }
    }

    private List<TuningChange> Rows(Dictionary<string, string>? running, Func<string, string, (ChangeState State, string Note)> judge, string? original) =>
        _wanted.Select(w =>
        {
            var (state, note) = judge(w.Key, w.Value);
            string? now = running is not null && running.TryGetValue(w.Key, out string? v) ? v : null;
            return new TuningChange(Kind, DropIn, w.Key, now, w.Value, state, note) { Original = original, BootTime = true };
        }).ToList();

    private void Write(string text)
    {
        string temp = DropIn + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(DropIn)!);
            File.WriteAllText(temp, text);
            File.Move(temp, DropIn, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TuningException($"cannot write {DropIn} ({e.Message}); /etc needs root", e);
        }
    }
}
