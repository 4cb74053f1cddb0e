using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Tuning.Plans;

/// <summary>A plan or verify result as JSON: the settings and the facts that came with them.</summary>
public sealed record PlanDocument(string Profile, string Verb, IReadOnlyList<string> Facts, IReadOnlyList<TuningChange> Changes);

/// <summary>An apply or rollback result as JSON. <see cref="RebootRequired"/>: a boot-time change was written or
/// removed, and takes effect only after the boot configuration is regenerated and the host rebooted.</summary>
public sealed record ReportDocument(string Profile, string Verb, IReadOnlyList<string> Facts, IReadOnlyList<TuningOutcome> Outcomes, bool Succeeded)
{
    public bool RebootRequired { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PlanDocument))]
[JsonSerializable(typeof(ReportDocument))]
internal sealed partial class TuningJsonContext : JsonSerializerContext;

/// <summary>Source-generated JSON for plans and reports (the CLI's --json and the daemon's admin endpoint).</summary>
public static class TuningJson
{
    public static string Serialize(PlanDocument document) => JsonSerializer.Serialize(document, TuningJsonContext.Default.PlanDocument);

    public static string Serialize(ReportDocument document) => JsonSerializer.Serialize(document, TuningJsonContext.Default.ReportDocument);
}
