using System.Text;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Matrix;

/// <summary>The operator's view of a host: the <c>nvidia-smi topo -m</c> matrix with GPUs and NICs, its legend, the
/// nearest NIC for each GPU, and what discovery could not read.</summary>
public static class TopologyMatrix
{
    /// <summary>The legend nvidia-smi prints under the matrix, line for line.</summary>
    public static IReadOnlyList<string> Legend { get; } =
    [
        "Legend:",
        "",
        "  X    = Self",
        "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)",
        "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node",
        "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)",
        "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)",
        "  PIX  = Connection traversing at most a single PCIe bridge",
        "  NV#  = Connection traversing a bonded set of # NVLinks",
    ];

    private const int TabWidth = 8;

    /// <summary>The matrix as text. Columns sit on 8-character tab stops, as nvidia-smi's tab-separated output shows in a
    /// terminal, but are written with spaces so the text is the same wherever it is pasted.</summary>
    public static string Render(HostTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var table = MatrixTable.Build(topology);
        bool hasGpus = topology.Gpus.Gpus.Count > 0;
        var sb = new StringBuilder();

        var header = new List<string> { "" };
        header.AddRange(table.Columns);
        if (hasGpus)
        {
            header.AddRange(["CPU Affinity", "NUMA Affinity", "GPU NUMA ID"]);
        }

        AppendLine(sb, header);
        foreach (var row in table.Rows)
        {
            var fields = new List<string> { row.Device };
            fields.AddRange(row.Cells.Select(c => c == PathLevel.Self.Label() ? " X " : c));
            if (row.CpuAffinity is not null)
            {
                // The NUMA affinity column is two tab stops wide, as in nvidia-smi.
                fields.AddRange([row.CpuAffinity, row.NumaAffinity ?? MatrixTable.NotAvailable, "", row.GpuNumaId ?? MatrixTable.NotAvailable]);
            }

            AppendLine(sb, fields);
        }

        sb.Append('\n');
        foreach (string line in Legend)
        {
            sb.Append(line).Append('\n');
        }

        var nics = MatrixTable.OrderNics(topology);
        if (nics.Count > 0)
        {
            sb.Append("\nNIC Legend:\n\n");
            for (int i = 0; i < nics.Count; i++)
            {
                sb.Append("  ").Append(MatrixTable.Nic(i)).Append(": ").Append(nics[i].DisplayName).Append('\n');
            }
        }

        var nearest = NearestNics(topology);
        if (nearest.Count > 0)
        {
            sb.Append("\nNearest NIC per GPU:\n\n");
            foreach (var n in nearest)
            {
                sb.Append("  ").Append(MatrixTable.Gpu(n.Gpu)).Append(" -> ").Append(n.Nic)
                    .Append(" (").Append(MatrixTable.Nic(n.NicIndex)).Append(", ").Append(n.Level.Label())
                    .Append(n.NumaLocal ? ", NUMA-local" : "").Append(")\n");
            }
        }

        if (topology.Problems.Count > 0)
        {
            sb.Append("\nProblems:\n\n");
            foreach (string problem in topology.Problems)
            {
                sb.Append("  - ").Append(problem).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>For each GPU, the NIC with the closest path level; ties go to a NIC on the GPU's NUMA node, then to the
    /// lowest NIC index (the matrix's column order: RDMA devices first). Empty when there are no NICs.</summary>
    public static IReadOnlyList<NearestNic> NearestNics(HostTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var result = new List<NearestNic>();
        var nics = MatrixTable.OrderNics(topology);
        if (nics.Count == 0)
        {
            return result;
        }

        foreach (var gpu in topology.Gpus.Gpus)
        {
            var best = nics
                .Select((nic, index) => (
                    Nic: nic,
                    Index: index,
                    Level: MatrixTable.GpuNic(topology, gpu.Index, nic.Name),
                    Local: nic.NumaNode is not null && nic.NumaNode == gpu.NumaNode))
                .OrderBy(c => c.Level)
                .ThenBy(c => c.Local ? 0 : 1)
                .ThenBy(c => c.Index)
                .First();
            result.Add(new NearestNic(gpu.Index, best.Nic.DisplayName, best.Nic.Name, best.Index, best.Level, best.Local));
        }

        return result;
    }

    /// <summary>Writes tab-separated fields with tabs expanded to the next 8-column stop, without trailing blanks.</summary>
    private static void AppendLine(StringBuilder sb, IReadOnlyList<string> fields)
    {
        var line = new StringBuilder();
        for (int i = 0; i < fields.Count; i++)
        {
            line.Append(fields[i]);
            if (i < fields.Count - 1)
            {
                line.Append(' ', TabWidth - (line.Length % TabWidth));
            }
        }

        sb.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
