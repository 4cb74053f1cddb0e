using System.Globalization;
using System.Text.RegularExpressions;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>The IRQ names of <c>/proc/interrupts</c>. A line reads <c>&lt;irq&gt;: &lt;count per CPU&gt;… &lt;chip&gt;
/// &lt;hwirq&gt; &lt;name&gt;</c>, e.g. <c>101: 0 0 IR-PCI-MSIX-0000:19:00.0 1-edge mlx5_comp0@pci:0000:19:00.0</c>.
/// Lines without a number (NMI, LOC, ERR…) are not device vectors and are skipped.</summary>
public sealed partial class InterruptTable
{
    private readonly Dictionary<int, string> _names;

    private InterruptTable(Dictionary<int, string> names) => _names = names;

    /// <summary>A table with no entries, for when <c>/proc/interrupts</c> cannot be read.</summary>
    public static InterruptTable Empty { get; } = new([]);

    /// <summary>Every numbered IRQ with its name (empty when the line has none).</summary>
    public IReadOnlyDictionary<int, string> Names => _names;

    /// <summary>Reads <c>&lt;proc&gt;/interrupts</c>; null when it cannot be read.</summary>
    public static InterruptTable? Read(HostRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        string? text = SysfsFiles.ReadText(Path.Join(roots.Proc, "interrupts"));
        return text is null ? null : Parse(text);
    }

    /// <summary>Parses the text of <c>/proc/interrupts</c>. The per-CPU count columns are recognised as the run of
    /// numbers after the IRQ, so a table whose header lists fewer CPUs than the rows still parses.</summary>
    public static InterruptTable Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var names = new Dictionary<int, string>();
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !int.TryParse(line.AsSpan(0, colon).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int irq))
            {
                continue;
            }

            var fields = line[(colon + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            int i = 0;
            while (i < fields.Length && fields[i].All(char.IsAsciiDigit))
            {
                i++;
            }

            // After the counts: the interrupt chip, the hardware IRQ with its trigger ("1-edge" on x86; arm64's GIC and ITS
            // print the trigger as a word of its own: "524288 Edge"), then the name.
            int name = i + 2;
            if (name < fields.Length && fields[name] is "Edge" or "Level")
            {
                name++;
            }

            names[irq] = name < fields.Length ? string.Join(' ', fields[name..]) : "";
        }

        return new InterruptTable(names);
    }

    /// <summary>The name of <paramref name="irq"/>, or null when the table does not list it.</summary>
    public string? NameOf(int irq) => _names.TryGetValue(irq, out string? name) ? name : null;

    /// <summary>Describes one vector of interface <paramref name="netdev"/>: its queue number from names such as
    /// <c>mlx5_comp3@pci:…</c>, <c>eno1-TxRx-3</c> or <c>virtio2-input.3</c>, and whether it is a control vector
    /// (<c>mlx5_async0@pci:…</c>, virtio's <c>…-config</c>, or a vector named just like the interface, as igb's link
    /// vector is).</summary>
    public static NicIrq Describe(int irq, string name, string netdev)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(netdev);
        if (name.Contains("async", StringComparison.Ordinal) || name.EndsWith("-config", StringComparison.Ordinal)
            || string.Equals(name, netdev, StringComparison.Ordinal))
        {
            return new NicIrq(irq, name, null, true);
        }

        var match = CompletionVector().Match(name);
        if (!match.Success && !name.Contains("@pci:", StringComparison.Ordinal))
        {
            // "@pci:<bdf>" ends in ".<function>", which is not a queue number.
            match = QueueVector().Match(name);
        }

        int? queue = match.Success ? int.Parse(match.Groups["n"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture) : null;
        return new NicIrq(irq, name, queue, false);
    }

    [GeneratedRegex(@"comp(?<n>\d{1,6})@")]
    private static partial Regex CompletionVector();

    // "<if>-TxRx-3", "<if>-rx-3", "<if>-tx-3", "<if>-3", "virtio2-input.3": a dash or dot and the queue number end the name.
    [GeneratedRegex(@"[-.](?<n>\d{1,6})$")]
    private static partial Regex QueueVector();
}
