using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;

namespace DataPlane.Tuning.Irq;

/// <summary>NIC queue and GPU interrupts pinned through /proc/irq/N/smp_affinity_list. A write the kernel answers with
/// EIO (a kernel-managed interrupt, whose affinity user space cannot set) is reported as unsupported ("not settable"),
/// never as a failure.</summary>
public sealed class IrqAffinityTuner : ITuner
{
    /// <summary>The kind of the changes this tuner makes.</summary>
    public const string Kind = "irq";

    /// <summary>The file written.</summary>
    public const string Key = "smp_affinity_list";

    private readonly string _procIrq;
    private readonly IReadOnlyList<IrqAssignment> _assignments;
    private readonly KernelWrite? _write;

    public IrqAffinityTuner(string procRoot, IReadOnlyList<IrqAssignment> assignments)
        : this(procRoot, assignments, null)
    {
    }

    /// <param name="procRoot">procfs root.</param>
    /// <param name="assignments">Where each IRQ goes.</param>
    /// <param name="write">The write(2) to <c>smp_affinity_list</c> (tests answer EIO as the kernel does for a managed IRQ).</param>
    internal IrqAffinityTuner(string procRoot, IReadOnlyList<IrqAssignment> assignments, KernelWrite? write)
    {
        _procIrq = Path.Combine(procRoot, "irq");
        _assignments = assignments;
        _write = write;
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
        string note = a.Label ?? (a.Queue is int q ? $"{a.Device} queue {q}" : a.Device);
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
        KernelFile.Write(PathOf(target), cpus, target, "/proc/irq needs root", "not settable: a kernel-managed IRQ, or no such CPU online", refusalIsPermanent: true, _write);
}
