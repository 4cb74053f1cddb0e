using System.Text.Json;
using System.Text.Json.Serialization;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.Matrix;

/// <summary>Source-generated (NativeAOT-safe) serialization of <see cref="TopologyReport"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(TopologyReport))]
public sealed partial class TopologyJsonContext : JsonSerializerContext;

/// <summary>The host's topology as JSON, for tools and for the admin endpoint.</summary>
public static class TopologyJson
{
    /// <summary>The report for <paramref name="topology"/>: the same facts and matrix the text form shows.</summary>
    public static TopologyReport ToReport(HostTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var table = MatrixTable.Build(topology);
        return new TopologyReport(
            topology.Gpus.DriverVersion,
            topology.OnlineCpus.ToList(),
            [.. topology.NumaNodes.Select(n => new NumaNodeReport(n.Id, n.Cpus.ToList()))],
            [.. topology.Gpus.Gpus.Select(ToReport)],
            [.. MatrixTable.OrderNics(topology).Select(ToReport)],
            new MatrixReport(
                table.Columns,
                [.. table.Rows.Select(r => new MatrixRowReport(r.Device, r.Cells, r.CpuAffinity, r.NumaAffinity, r.GpuNumaId))]),
            [.. TopologyMatrix.NearestNics(topology).Select(n => new NearestNicReport(n.Gpu, n.Nic, n.NetDevice, n.Level.Label(), n.NumaLocal))],
            topology.Problems);
    }

    /// <summary>The report for <paramref name="topology"/> as indented JSON.</summary>
    public static string Serialize(HostTopology topology) => Serialize(ToReport(topology));

    /// <summary>A report as indented JSON.</summary>
    public static string Serialize(TopologyReport report) => JsonSerializer.Serialize(report, TopologyJsonContext.Default.TopologyReport);

    /// <summary>Reads a report written by <see cref="Serialize(TopologyReport)"/>; null for the JSON literal null.</summary>
    public static TopologyReport? Deserialize(string json) => JsonSerializer.Deserialize(json, TopologyJsonContext.Default.TopologyReport);

    private static GpuReport ToReport(GpuDevice gpu) => new(
        gpu.Index,
        gpu.Name,
        gpu.Uuid,
        gpu.Pci.ToString(),
        gpu.CpuAffinity.ToList(),
        gpu.NumaNode,
        gpu.NvSwitchLinks,
        [.. gpu.Links.Select(l => new NvLinkReport(
            l.Link,
            l.Active ? "active" : "inactive",
            l.Generation,
            l.Remote switch
            {
                NvLinkRemote.Gpu => "gpu",
                NvLinkRemote.Switch => "switch",
                NvLinkRemote.IbmNpu => "ibm_npu",
                _ => "unknown",
            },
            l.RemotePci?.ToString(),
            l.TxBytes,
            l.RxBytes,
            l.SpeedBytesPerSecond))]);

    private static NicReport ToReport(NicDevice nic) => new(
        nic.Name,
        nic.Pci.ToString(),
        nic.NumaNode,
        nic.LocalCpus.ToList(),
        nic.Driver,
        nic.SpeedMbps,
        nic.RdmaDevice,
        [.. nic.Irqs.Select(i => new IrqReport(i.Irq, i.Name, i.Queue, i.Control))]);
}
