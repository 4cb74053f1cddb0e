using System.Text.Json;

namespace DataPlane.Planning.Inputs;

/// <summary>Reads and writes the planner's input file (JSON, schema in docs/PLANNING.md) and checks its figures.</summary>
public static class PlanInputFile
{
    /// <summary>The largest input file read: far more than any pool's figures need.</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <exception cref="PlanInputException">The file is missing, too large, not the schema, or a figure is out of range.</exception>
    public static PlanInput Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new PlanInputException($"input {path}: no such file");
            }

            if (info.Length > MaxBytes)
            {
                throw new PlanInputException($"input {path}: {info.Length} bytes, more than the {MaxBytes} an input file may have");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlanInputException($"input {path}: {e.Message}", e);
        }

        return Parse(bytes, $"input {path}");
    }

    /// <summary>Parses and validates JSON text; <paramref name="what"/> starts every error message.</summary>
    public static PlanInput Parse(ReadOnlySpan<byte> json, string what)
    {
        PlanInput? input;
        try
        {
            input = JsonSerializer.Deserialize(json, PlanningJsonContext.Default.PlanInput);
        }
        catch (JsonException e)
        {
            // The serializer's message names the member and the position; the first sentence is enough.
            string message = e.Message;
            int cut = message.IndexOf(". ", StringComparison.Ordinal);
            string detail = e.Path is { Length: > 0 } p ? $" (at {p}{(e.LineNumber is { } l ? $", line {l + 1}" : "")})" : "";
            throw new PlanInputException($"{what}: {(cut > 0 ? message[..cut] : message.TrimEnd('.'))}{detail}", e);
        }

        if (input is null)
        {
            throw new PlanInputException($"{what}: the file holds null, not the planner's figures");
        }

        Validate(input, what);
        return input;
    }

    /// <summary>Writes <paramref name="input"/> as an input file.</summary>
    public static string Serialize(PlanInput input) => JsonSerializer.Serialize(input, PlanningJsonContext.Readable.PlanInput);

    /// <summary>Checks every figure; the first that is out of range is named.</summary>
    /// <exception cref="PlanInputException">A figure is out of range.</exception>
    public static void Validate(PlanInput input, string what)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!double.IsFinite(input.PeakRequestsPerSecond) || input.PeakRequestsPerSecond < 0)
        {
            throw new PlanInputException($"{what}: peakRequestsPerSecond {input.PeakRequestsPerSecond} is not a rate (0 or more requests per second)");
        }

        if (!double.IsFinite(input.LocalHitRate) || input.LocalHitRate is < 0 or > 1)
        {
            throw new PlanInputException($"{what}: localHitRate {input.LocalHitRate} is not a share between 0 and 1");
        }

        CheckSlo(input.SloMs, $"{what}: sloMs");
        if (input.Models is null || input.Models.Count == 0)
        {
            throw new PlanInputException($"{what}: no models: nothing to plan");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in input.Models)
        {
            if (m is null || string.IsNullOrWhiteSpace(m.Name))
            {
                throw new PlanInputException($"{what}: a model without a name");
            }

            string model = $"{what}: model '{m.Name}'";
            if (!seen.Add(m.Name))
            {
                throw new PlanInputException($"{model} is listed twice");
            }

            if (!double.IsFinite(m.EscalationShare) || m.EscalationShare < 0)
            {
                throw new PlanInputException($"{model}: escalationShare {m.EscalationShare} is negative or not a number");
            }

            if (!double.IsFinite(m.LatencyBaseSeconds) || m.LatencyBaseSeconds < 0 || m.LatencyBaseSeconds > 3600)
            {
                throw new PlanInputException($"{model}: latencyBaseSeconds {m.LatencyBaseSeconds} is not a duration from 0 to 3600 s");
            }

            if (!double.IsFinite(m.LatencyPerRowSeconds) || m.LatencyPerRowSeconds < 0 || m.LatencyPerRowSeconds > 3600)
            {
                throw new PlanInputException($"{model}: latencyPerRowSeconds {m.LatencyPerRowSeconds} is not a duration from 0 to 3600 s");
            }

            if (m.LatencyBaseSeconds + m.LatencyPerRowSeconds <= 0)
            {
                throw new PlanInputException($"{model}: latencyBaseSeconds and latencyPerRowSeconds are both 0: a batch that costs nothing cannot be planned for");
            }

            if (m.MaxBatchRows is < 1 or > 1_000_000)
            {
                throw new PlanInputException($"{model}: maxBatchRows {m.MaxBatchRows} is not from 1 to 1000000");
            }

            if (m.RowsPerRequest < 1 || m.RowsPerRequest > m.MaxBatchRows)
            {
                throw new PlanInputException($"{model}: rowsPerRequest {m.RowsPerRequest} is not from 1 to maxBatchRows ({m.MaxBatchRows})");
            }

            if (m.Instances < 0 || m.Hosts < 0)
            {
                throw new PlanInputException($"{model}: instances and hosts cannot be negative");
            }

            CheckSlo(m.SloMs, $"{model}: sloMs");
        }

        void CheckSlo(double? slo, string name)
        {
            if (slo is { } s && (!double.IsFinite(s) || s <= 0 || s > 3_600_000))
            {
                throw new PlanInputException($"{name} {s} is not a duration from 0 to 3600000 ms");
            }
        }
    }
}
