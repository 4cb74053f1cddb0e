using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Topology.SelfTest;

/// <summary>The recorded tool outputs a self-test compares with; each is optional, at least one is needed.</summary>
/// <param name="NvidiaSmiTopo">Output of <c>nvidia-smi topo -m</c>.</param>
/// <param name="NvidiaSmiQuery">Output of <c>nvidia-smi -q -x</c>.</param>
/// <param name="NvidiaSmiNvLink">Output of <c>nvidia-smi nvlink -s</c>.</param>
/// <param name="IbvDevinfo">Output of <c>ibv_devinfo -v</c>.</param>
public sealed record SelfTestSources(
    [property: JsonPropertyName("nvidia_smi_topo")] string? NvidiaSmiTopo,
    [property: JsonPropertyName("nvidia_smi_query")] string? NvidiaSmiQuery,
    [property: JsonPropertyName("nvidia_smi_nvlink")] string? NvidiaSmiNvLink,
    [property: JsonPropertyName("ibv_devinfo")] string? IbvDevinfo)
{
    /// <summary>No file at all.</summary>
    public bool IsEmpty => NvidiaSmiTopo is null && NvidiaSmiQuery is null && NvidiaSmiNvLink is null && IbvDevinfo is null;
}

/// <summary>Checks and mismatches of one section.</summary>
/// <param name="Section">topo, gpus, nvlink or rdma.</param>
/// <param name="Checks">Values compared.</param>
/// <param name="Mismatches">Values that differ.</param>
public sealed record SelfTestSectionSummary(
    [property: JsonPropertyName("section")] string Section,
    [property: JsonPropertyName("checks")] int Checks,
    [property: JsonPropertyName("mismatches")] int Mismatches);

/// <summary>The self-test's report: every check, a summary per section, and what discovery could not read.</summary>
/// <param name="Ok">No mismatch.</param>
/// <param name="Checks">Values compared.</param>
/// <param name="Mismatches">Values that differ.</param>
/// <param name="Sources">The files compared with.</param>
/// <param name="Sections">Per section, in the order run.</param>
/// <param name="Results">Every check.</param>
/// <param name="Problems">What discovery could not read (as <c>dataplane topo</c> lists it).</param>
public sealed record SelfTestReport(
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("checks")] int Checks,
    [property: JsonPropertyName("mismatches")] int Mismatches,
    [property: JsonPropertyName("sources")] SelfTestSources Sources,
    [property: JsonPropertyName("sections")] IReadOnlyList<SelfTestSectionSummary> Sections,
    [property: JsonPropertyName("results")] IReadOnlyList<SelfTestCheck> Results,
    [property: JsonPropertyName("problems")] IReadOnlyList<string> Problems);

/// <summary>Source-generated (NativeAOT-safe) serialization of <see cref="SelfTestReport"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SelfTestReport))]
public sealed partial class SelfTestJsonContext : JsonSerializerContext;
