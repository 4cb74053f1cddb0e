using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Edge.Contract;

/// <summary>A prompt and, when known, whether it needs the GPU pool.</summary>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Gpu">True when it needs the GPU, false when the local model answers it well, null when unlabelled.</param>
public sealed record LabelledPrompt(string Prompt, bool? Gpu);

/// <summary>Reads prompt files in JSON Lines: one object per line, <c>{"prompt": "...", "gpu": true|false}</c>
/// (<c>gpu</c> may be absent in unlabelled files). Blank lines are skipped; any other line that is
/// not such an object is an error naming its line number.</summary>
public static class PromptFile
{
    /// <summary>Reads every prompt of <paramref name="path"/>.</summary>
    /// <param name="path">A JSONL file.</param>
    /// <param name="requireLabels">When true, a line without a boolean <c>gpu</c> is an error.</param>
    /// <exception cref="InvalidDataException">A line is malformed; the message reads "path:line: problem".</exception>
    public static IReadOnlyList<LabelledPrompt> Read(string path, bool requireLabels)
    {
        using var reader = new StreamReader(path);
        return Read(reader, path, requireLabels);
    }

    /// <summary>Reads every prompt from <paramref name="reader"/>; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<LabelledPrompt> Read(TextReader reader, string source, bool requireLabels)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var prompts = new List<LabelledPrompt>();
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            PromptLine? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize(line, PromptFileJsonContext.Default.PromptLine);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}:{lineNumber}: not a JSON object of the form {{\"prompt\": \"...\", \"gpu\": true|false}}: {e.Message}", e);
            }

            if (parsed?.Prompt is null)
            {
                throw new InvalidDataException($"{source}:{lineNumber}: the line has no string \"prompt\".");
            }

            if (requireLabels && parsed.Gpu is null)
            {
                throw new InvalidDataException($"{source}:{lineNumber}: the line has no boolean \"gpu\" label.");
            }

            prompts.Add(new LabelledPrompt(parsed.Prompt, parsed.Gpu));
        }

        return prompts;
    }
}

/// <summary>One line of a prompt file: <c>{"prompt": "...", "gpu": true}</c>.</summary>
internal sealed class PromptLine
{
    public string? Prompt { get; set; }

    public bool? Gpu { get; set; }
}

/// <summary>Source-generated (reflection-free, NativeAOT-safe) JSON for prompt file lines.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(PromptLine))]
internal sealed partial class PromptFileJsonContext : JsonSerializerContext
{
}
