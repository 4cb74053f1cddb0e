using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Bench;

/// <summary>A whole bench run, as written to the --json file.</summary>
public sealed record BenchRun
{
    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartedUtc { get; init; }

    /// <summary>The command-line arguments of the run (after the verb).</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>The steps, in the order they ran.</summary>
    public required IReadOnlyList<StepResult> Steps { get; init; }
}

/// <summary>Source-generated JSON for <see cref="BenchRun"/> (NativeAOT-safe): snake_case names as the CSV
/// columns have them (<c>p50_ms</c>, <c>errors_by_status</c>, …), enums as their command-line names.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(BenchRun))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>The JSON form of a run: JSON Lines, one compact object per run, appended, so several
/// runs can share a file and every line parses on its own.</summary>
public static class JsonReport
{
    /// <summary>The run as one line of JSON (no line end).</summary>
    public static string Format(BenchRun run) => JsonSerializer.Serialize(run, BenchJsonContext.Default.BenchRun);

    /// <summary>Parses one line written by <see cref="Format"/>.</summary>
    public static BenchRun? Parse(string line) => JsonSerializer.Deserialize(line, BenchJsonContext.Default.BenchRun);

    /// <summary>Appends <paramref name="run"/> to <paramref name="path"/> as one line.</summary>
    public static void Append(string path, BenchRun run) => File.AppendAllText(path, Format(run) + "\n");
}
