using System.Text;

namespace DataPlane.Tuning.Plans;

/// <summary>Plans and reports as aligned text tables for operators.</summary>
public static class TuningText
{
    public static string Plan(IReadOnlyList<TuningChange> changes)
    {
        var rows = changes.Select(c => new[] { c.Kind, c.Target, c.Key, c.Current ?? "-", c.Desired, StateLabel(c), c.Note ?? "" }).ToList();
        var sb = new StringBuilder(Table(["KIND", "TARGET", "KEY", "CURRENT", "WANTED", "STATE", "NOTE"], rows));
        int boot = changes.Count(c => c is { State: ChangeState.Differs, BootTime: true });
        sb.Append(changes.Count(c => c.State == ChangeState.Differs)).Append(" to change");
        if (boot > 0)
        {
            sb.Append(" (").Append(boot).Append(" at the next boot)");
        }

        sb.Append(", ").Append(changes.Count(c => c.State == ChangeState.InPlace)).Append(" in place, ");
        int pending = changes.Count(c => c.State == ChangeState.PendingReboot);
        if (pending > 0)
        {
            sb.Append(pending).Append(" pending reboot, ");
        }

        sb.Append(changes.Count(c => c.State is ChangeState.Unsupported or ChangeState.Unchangeable)).Append(" unsupported, ")
            .Append(changes.Count(c => c.State == ChangeState.Error)).Append(" unreadable").AppendLine();
        return sb.ToString();
    }

    public static string Report(TuningReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = report.Outcomes.Select(o => new[] { o.Kind, o.Target, o.Key, o.Before ?? "-", o.After ?? "-", o.State.ToString().ToLowerInvariant(), o.Note ?? "" }).ToList();
        var sb = new StringBuilder(Table(["KIND", "TARGET", "KEY", "BEFORE", "AFTER", "RESULT", "NOTE"], rows));
        sb.Append(report.Count(OutcomeState.Done)).Append(" done, ")
            .Append(report.Count(OutcomeState.Skipped)).Append(" already in place, ")
            .Append(report.Count(OutcomeState.Unsupported)).Append(" unsupported, ")
            .Append(report.Count(OutcomeState.Failed)).Append(" failed").AppendLine();
        return sb.ToString();
    }

    private static string StateLabel(TuningChange change) => change.State switch
    {
        ChangeState.InPlace => "ok",
        ChangeState.Differs => change.BootTime ? "change-at-boot" : "change",
        ChangeState.PendingReboot => "pending-reboot",
        ChangeState.Unsupported => "unsupported",
        ChangeState.Unchangeable => "fixed",
        _ => "error",
    };

    private static string Table(string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        foreach (var row in rows.Prepend(header))
        {
            sb.Append(string.Concat(row.Select((cell, i) => cell.PadRight(widths[i] + 2))).TrimEnd()).Append('\n');
        }

        return sb.ToString();
    }
}
