using System.Globalization;
using System.Text;
using System.Text.Json;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.SelfTest;

/// <summary>The hardware self-test (<c>dataplane selftest</c>): DataPlane's discovery next to recorded outputs of
/// <c>nvidia-smi topo -m</c>, <c>nvidia-smi -q -x</c>, <c>nvidia-smi nvlink -s</c> and <c>ibv_devinfo -v</c>. It runs no
/// tool itself; <c>scripts/hw-selftest.sh</c> records them.</summary>
public static class HostSelfTest
{
    /// <summary>Reads every named file; a file that is missing or not in its tool's format is a
    /// <see cref="ToolOutputException"/> naming it (and the line). Call before discovery, so a typo costs nothing.</summary>
    public static SelfTestInputs Load(SelfTestSources sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return new SelfTestInputs(
            sources,
            sources.NvidiaSmiTopo is string topo ? NvidiaSmiTopo.Read(topo) : null,
            sources.NvidiaSmiQuery is string query ? NvidiaSmiQuery.Read(query) : null,
            sources.NvidiaSmiNvLink is string nvlink ? NvidiaSmiNvLink.Read(nvlink) : null,
            sources.IbvDevinfo is string ibv ? IbvDevinfo.Read(ibv) : null);
    }

    /// <summary>Compares <paramref name="topology"/> (and the RDMA ports under <paramref name="roots"/>) with the loaded outputs.</summary>
    public static SelfTestReport Run(SelfTestInputs inputs, HostTopology topology, HostRoots roots)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(roots);
        var sections = new List<IReadOnlyList<SelfTestCheck>>();
        if (inputs.Topo is { } topo)
        {
            sections.Add(SelfTestComparison.Topo(topology, topo));
        }

        if (inputs.Query is { } query)
        {
            sections.Add(SelfTestComparison.Gpus(topology, query));
        }

        if (inputs.NvLink is { } nvlink)
        {
            sections.Add(SelfTestComparison.NvLinks(topology, nvlink));
        }

        if (inputs.Devinfo is { } devinfo)
        {
            sections.Add(SelfTestComparison.Rdma(topology, roots, devinfo));
        }

        var results = sections.SelectMany(s => s).ToList();
        int mismatches = results.Count(c => !c.Ok);
        var summaries = results.GroupBy(c => c.Section)
            .Select(g => new SelfTestSectionSummary(g.Key, g.Count(), g.Count(c => !c.Ok)))
            .ToList();
        return new SelfTestReport(mismatches == 0, results.Count, mismatches, inputs.Sources, summaries, results, topology.Problems);
    }

    /// <summary>The report as indented JSON.</summary>
    public static string Serialize(SelfTestReport report) => JsonSerializer.Serialize(report, SelfTestJsonContext.Default.SelfTestReport);

    /// <summary>Reads a report written by <see cref="Serialize"/>; null for the JSON literal null.</summary>
    public static SelfTestReport? Deserialize(string json) => JsonSerializer.Deserialize(json, SelfTestJsonContext.Default.SelfTestReport);

    /// <summary>The report for a person: the totals, one line per section, then every mismatch.</summary>
    public static string Render(SelfTestReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"dataplane selftest: {report.Checks} checks, {report.Mismatches} mismatch{(report.Mismatches == 1 ? "" : "es")}\n");
        foreach (var s in report.Sections)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {s.Section,-7}{s.Checks,6} checks{s.Mismatches,6} mismatch{(s.Mismatches == 1 ? "" : "es")}\n");
        }

        var failed = report.Results.Where(c => !c.Ok).ToList();
        if (failed.Count > 0)
        {
            sb.Append("\nMismatches (ours / theirs):\n\n");
            foreach (var c in failed)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {c.Section} {c.Name}: {c.Ours} / {c.Theirs}\n");
            }
        }

        if (report.Problems.Count > 0)
        {
            sb.Append("\nDiscovery problems:\n\n");
            foreach (string problem in report.Problems)
            {
                sb.Append("  - ").Append(problem).Append('\n');
            }
        }

        return sb.ToString();
    }
}

/// <summary>The parsed outputs; a null member was not given.</summary>
/// <param name="Sources">The file names.</param>
/// <param name="Topo"><c>nvidia-smi topo -m</c>.</param>
/// <param name="Query"><c>nvidia-smi -q -x</c>.</param>
/// <param name="NvLink"><c>nvidia-smi nvlink -s</c>.</param>
/// <param name="Devinfo"><c>ibv_devinfo -v</c>.</param>
public sealed record SelfTestInputs(SelfTestSources Sources, NvidiaSmiTopo? Topo, NvidiaSmiQuery? Query, NvidiaSmiNvLink? NvLink, IbvDevinfo? Devinfo);
