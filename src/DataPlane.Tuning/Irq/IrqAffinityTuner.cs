using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Irq;

/// <summary>NIC queue interrupts pinned through /proc/irq/N/smp_affinity_list.</summary>
public sealed class IrqAffinityTuner : ITuner
{
    /// <summary>The kind of the changes this tuner makes.</summary>
    public const string Kind = "irq";

    /// <summary>The file written.</summary>
    public const string Key = "smp_affinity_list";

    private readonly string _procIrq;
    private readonly IReadOnlyList<IrqAssignment> _assignments;

    public IrqAffinityTuner(string procRoot, IReadOnlyList<IrqAssignment> assignments)
    {
        _procIrq = Path.Combine(procRoot, "irq");
        _assignments = assignments;
    }

    public IReadOnlyCollection<string> Kinds { get; } = [Kind];

    /// <summary>The assignments this tuner enforces.</summary>
    public IReadOnlyList<IrqAssignment> Assignments => _assignments;

    /// <summary>"irq/N", the target of a change.</summary>
    public static string TargetOf(int irq) => $"irq/{irq}";

    public IReadOnlyList<TuningChange> Plan() => _assignments.Select(PlanOne).ToList();

    public string Apply(TuningChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        Write(change.Target, change.Desired);
        return Read(change.Target);
    }

    public void Restore(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Write(entry.Target, entry.Original);
    }

    private TuningChange PlanOne(IrqAssignment a)
    {
        string target = TargetOf(a.Irq);
        string desired = a.Cpu.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string note = a.Queue is int q ? $"{a.Nic} queue {q}" : a.Nic;
        if (!File.Exists(PathOf(target)))
        {
            return new TuningChange(Kind, target, Key, null, desired, ChangeState.Unsupported, $"{note}: IRQ not present in /proc/irq");
        }

        try
        {
            string current = Read(target);
            return new TuningChange(Kind, target, Key, current, desired, current == desired ? ChangeState.InPlace : ChangeState.Differs, note);
        }
        catch (TuningException e)
        {
            return new TuningChange(Kind, target, Key, null, desired, ChangeState.Error, $"{note}: {e.Message}");
        }
    }

    private string PathOf(string target) => Path.Combine(_procIrq, target["irq/".Length..], Key);

    private string Read(string target)
    {
        string text = KernelFile.Read(PathOf(target), target);
        try
        {
            return CpuSet.ParseList(text).ToList();
        }
        catch (FormatException e)
        {
            throw new TuningException($"{target}: {Key} holds '{text.Trim()}': {e.Message}", e);
        }
    }

    // EIO from the kernel's write_irq_affinity means a kernel-managed interrupt whose affinity user space cannot set.
    private void Write(string target, string cpus) =>
        KernelFile.Write(PathOf(target), cpus, target, "/proc/irq needs root", "kernel-managed IRQ, or no such CPU online", refusalIsPermanent: true);
}
