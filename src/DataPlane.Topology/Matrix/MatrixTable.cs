using System.Globalization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Matrix;

/// <summary>The <c>nvidia-smi topo -m</c> matrix as cells: one column per GPU then per NIC, one row per device; GPU rows
/// add CPU affinity, NUMA affinity and GPU NUMA ID. Shared by the text and JSON forms so both always agree.</summary>
internal sealed record MatrixTable(IReadOnlyList<string> Columns, IReadOnlyList<MatrixTableRow> Rows)
{
    public const string NotAvailable = "N/A";

    public static MatrixTable Build(HostTopology topology)
    {
        var gpus = topology.Gpus.Gpus;
        var nics = OrderNics(topology);
        var columns = new List<string>();
        columns.AddRange(gpus.Select(g => Gpu(g.Index)));
        columns.AddRange(nics.Select((_, i) => Nic(i)));

        var rows = new List<MatrixTableRow>();
        foreach (var gpu in gpus)
        {
            var cells = new List<string>();
            foreach (var other in gpus)
            {
                cells.Add(GpuGpu(topology.Gpus, gpu.Index, other.Index));
            }

            foreach (var nic in nics)
            {
                cells.Add(GpuNic(topology, gpu.Index, nic.Name).Label());
            }

            rows.Add(new MatrixTableRow(
                Gpu(gpu.Index),
                cells,
                gpu.CpuAffinity.IsEmpty ? NotAvailable : gpu.CpuAffinity.ToList(),
                gpu.NumaNode?.ToString(CultureInfo.InvariantCulture) ?? NotAvailable,
                // The GPU's own memory is a NUMA node only on coherent systems (Grace); nvidia-smi prints N/A otherwise.
                NotAvailable));
        }

        for (int i = 0; i < nics.Count; i++)
        {
            var cells = new List<string>();
            foreach (var gpu in gpus)
            {
                cells.Add(GpuNic(topology, gpu.Index, nics[i].Name).Label());
            }

            for (int j = 0; j < nics.Count; j++)
            {
                cells.Add(i == j ? PathLevel.Self.Label() : NicNic(topology, nics[i].Name, nics[j].Name).Label());
            }

            rows.Add(new MatrixTableRow(Nic(i), cells, null, null, null));
        }

        return new MatrixTable(columns, rows);
    }

    /// <summary>NICs in column order: RDMA devices first, as nvidia-smi lists them (its NIC legend holds only those), then
    /// the other PCI NICs such as a management port; each group in PCI order.</summary>
    public static IReadOnlyList<NicDevice> OrderNics(HostTopology topology) =>
        [.. topology.Nics.Where(n => n.RdmaDevice is not null), .. topology.Nics.Where(n => n.RdmaDevice is null)];

    public static string Gpu(int index) => "GPU" + index.ToString(CultureInfo.InvariantCulture);

    public static string Nic(int index) => "NIC" + index.ToString(CultureInfo.InvariantCulture);

    public static PathLevel GpuNic(HostTopology topology, int gpu, string nic) =>
        topology.GpuNic.TryGetValue((gpu, nic), out var level) ? level : PathLevel.Sys;

    public static PathLevel NicNic(HostTopology topology, string a, string b)
    {
        var key = string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
        return topology.NicNic.TryGetValue(key, out var level) ? level : PathLevel.Sys;
    }

    private static string GpuGpu(GpuInventory inventory, int a, int b)
    {
        if (a == b)
        {
            return PathLevel.Self.Label();
        }

        int links = inventory.NvLinksBetween(a, b);
        if (links > 0)
        {
            return "NV" + links.ToString(CultureInfo.InvariantCulture);
        }

        return inventory.PciLevels.TryGetValue((Math.Min(a, b), Math.Max(a, b)), out var level) ? level.Label() : PathLevel.Sys.Label();
    }
}

/// <summary>One row of <see cref="MatrixTable"/>; the affinity fields are null on NIC rows.</summary>
internal sealed record MatrixTableRow(string Device, IReadOnlyList<string> Cells, string? CpuAffinity, string? NumaAffinity, string? GpuNumaId);
