using System.Globalization;

namespace DataPlane.Topology.SelfTest;

/// <summary>What <c>nvidia-smi topo -m</c> printed: the devices in column order, each row's cells and, on GPU rows, the
/// affinity columns. Devices are named as the self-test matches them: <c>GPU&lt;n&gt;</c> for GPUs, the NIC's name from
/// the NIC legend (<c>mlx5_0</c>) for NICs; older drivers name NIC columns by device directly, which reads the same.</summary>
/// <param name="Devices">Device names in column order.</param>
/// <param name="Rows">Each device's row: one cell per column (<c>X</c>, <c>NV18</c>, <c>PXB</c>…).</param>
/// <param name="Affinity">GPU rows' affinity columns, by device name.</param>
/// <param name="AffinityColumns">Which affinity columns the header has, in order ("CPU Affinity", "NUMA Affinity",
/// "GPU NUMA ID"; older drivers print fewer).</param>
public sealed record NvidiaSmiTopo(
    IReadOnlyList<string> Devices,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Rows,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Affinity,
    IReadOnlyList<string> AffinityColumns)
{
    /// <summary>The affinity columns nvidia-smi prints after the matrix, in its order.</summary>
    public static IReadOnlyList<string> KnownAffinityColumns { get; } = ["CPU Affinity", "NUMA Affinity", "GPU NUMA ID"];

    /// <summary>Reads <paramref name="file"/>.</summary>
    public static NvidiaSmiTopo Read(string file) => Parse(file, ToolText.ReadAll(file));

    /// <summary>Parses the text of <c>nvidia-smi topo -m</c>; <paramref name="file"/> names it in errors.</summary>
    public static NvidiaSmiTopo Parse(string file, string text)
    {
        var lines = ToolText.Lines(text);
        int h = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (h < 0)
        {
            throw new ToolOutputException(file, null, "is empty (expected the output of nvidia-smi topo -m)");
        }

        var header = ToolText.Fields(lines[h]);
        int affinityStart = Array.FindIndex(header, f => f is "CPU" or "NUMA" or "GPU");
        var labels = affinityStart < 0 ? header : header[..affinityStart];
        if (!char.IsWhiteSpace(lines[h][0]) || labels.Length == 0)
        {
            throw new ToolOutputException(file, h + 1, "expected the matrix header (a tab, then GPU0 GPU1 … and the affinity columns)");
        }

        var affinityColumns = ReadAffinityHeader(file, h + 1, affinityStart < 0 ? "" : string.Join(' ', header[affinityStart..]));

        var cells = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var affinity = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        int i = h + 1;
        for (; i < lines.Length && lines[i].Trim().Length > 0; i++)
        {
            var fields = ToolText.Fields(lines[i]);
            string label = fields[0];
            if (!labels.Contains(label, StringComparer.Ordinal))
            {
                throw new ToolOutputException(file, i + 1, $"row '{label}' is not a device of the header ({string.Join(' ', labels)})");
            }

            if (cells.ContainsKey(label))
            {
                throw new ToolOutputException(file, i + 1, $"a second row for {label}");
            }

            if (fields.Length < 1 + labels.Length)
            {
                throw new ToolOutputException(file, i + 1, $"{label} has {fields.Length - 1} cells, the header names {labels.Length} devices");
            }

            var row = fields[1..(1 + labels.Length)];
            foreach (string cell in row)
            {
                if (!IsCell(cell))
                {
                    throw new ToolOutputException(file, i + 1, $"'{cell}' in row {label} is not a path (X, SYS, NODE, PHB, PXB, PIX or NV#)");
                }
            }

            cells[label] = row;
            var extra = fields[(1 + labels.Length)..];
            if (extra.Length == 0)
            {
                continue;
            }

            if (extra.Length != affinityColumns.Count)
            {
                throw new ToolOutputException(file, i + 1,
                    $"{label} has {extra.Length} values after its cells, the header names {affinityColumns.Count} ({string.Join(", ", affinityColumns)})");
            }

            affinity[label] = affinityColumns.Select((column, k) => (Column: column, Value: extra[k]))
                .ToDictionary(p => p.Column, p => p.Value, StringComparer.Ordinal);
        }

        foreach (string label in labels)
        {
            if (!cells.ContainsKey(label))
            {
                throw new ToolOutputException(file, i + 1, $"the matrix has no row for {label}");
            }
        }

        var legend = ReadNicLegend(lines, i);
        var names = labels.Select(l => Name(file, h + 1, l, legend)).ToList();
        var byName = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var affinityByName = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        for (int k = 0; k < labels.Length; k++)
        {
            byName[names[k]] = cells[labels[k]];
            if (affinity.TryGetValue(labels[k], out var a))
            {
                affinityByName[names[k]] = a;
            }
        }

        return new NvidiaSmiTopo(names, byName, affinityByName, affinityColumns);
    }

    /// <summary>X, SYS, NODE, PHB, PXB, PIX or NV followed by a link count.</summary>
    public static bool IsCell(string cell) =>
        cell is "X" or "SYS" or "NODE" or "PHB" or "PXB" or "PIX"
        || (cell.Length > 2 && cell.StartsWith("NV", StringComparison.Ordinal)
            && int.TryParse(cell.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out _));

    private static List<string> ReadAffinityHeader(string file, int line, string rest)
    {
        var columns = new List<string>();
        foreach (string known in KnownAffinityColumns)
        {
            if (rest.StartsWith(known, StringComparison.Ordinal))
            {
                columns.Add(known);
                rest = rest[known.Length..].TrimStart();
            }
        }

        return rest.Length == 0
            ? columns
            : throw new ToolOutputException(file, line, $"unknown header column(s) '{rest}' (known: {string.Join(", ", KnownAffinityColumns)})");
    }

    /// <summary>The "NIC Legend:" block after the matrix: <c>  NIC0: mlx5_0</c> per line.</summary>
    private static Dictionary<string, string> ReadNicLegend(string[] lines, int from)
    {
        var legend = new Dictionary<string, string>(StringComparer.Ordinal);
        int start = Array.FindIndex(lines, from, l => l.Trim() == "NIC Legend:");
        if (start < 0)
        {
            return legend;
        }

        for (int i = start + 1; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line.StartsWith("NIC", StringComparison.Ordinal) && colon > 3 && line[(colon + 1)..].Trim() is { Length: > 0 } name)
            {
                legend[line[..colon]] = name;
            }
            else if (line.Length > 0)
            {
                break;
            }
        }

        return legend;
    }

    private static string Name(string file, int line, string label, Dictionary<string, string> legend)
    {
        bool nicLabel = label.Length > 3 && label.StartsWith("NIC", StringComparison.Ordinal)
            && int.TryParse(label.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out _);
        if (!nicLabel)
        {
            return label;
        }

        return legend.TryGetValue(label, out string? name)
            ? name
            : throw new ToolOutputException(file, line, $"{label} is a column but not in the NIC Legend");
    }
}
