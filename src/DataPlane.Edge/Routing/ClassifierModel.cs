using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataPlane.Edge.Routing;

/// <summary>The versioned file format of a <see cref="PromptClassifier"/>: a logistic regression over
/// standardised <see cref="PromptFeatures"/>. Example:
/// <code>
/// {
///   "version": 1,
///   "trainedAt": "2025-01-01T00:00:00+00:00",
///   "features": ["log_chars", ...],
///   "means": [...], "scales": [...], "weights": [...],
///   "bias": -1.2,
///   "metrics": { "trainAccuracy": 0.95, "trainLogLoss": 0.14, "examples": 600 }
/// }
/// </code>
/// The score is σ(b + Σ wᵢ·(xᵢ − meanᵢ)/scaleᵢ). <see cref="Features"/> must equal
/// <see cref="PromptFeatures.Names"/> name for name, so a file trained against other feature code is
/// refused rather than silently misread.</summary>
public sealed class ClassifierModel
{
    /// <summary>The only format version this code reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Format version; must be <see cref="CurrentVersion"/>.</summary>
    public int Version { get; set; }

    /// <summary>When the model was trained (ISO 8601), informational.</summary>
    public string? TrainedAt { get; set; }

    /// <summary>Feature names, in order.</summary>
    public IReadOnlyList<string>? Features { get; set; }

    /// <summary>Per-feature mean used for standardisation.</summary>
    public IReadOnlyList<double>? Means { get; set; }

    /// <summary>Per-feature scale (standard deviation, or 1 for a constant feature); all positive.</summary>
    public IReadOnlyList<double>? Scales { get; set; }

    /// <summary>Per-feature weight on the standardised feature.</summary>
    public IReadOnlyList<double>? Weights { get; set; }

    /// <summary>Intercept of the logistic regression.</summary>
    public double Bias { get; set; }

    /// <summary>How the model did on its training data, informational.</summary>
    public ClassifierMetrics? Metrics { get; set; }

    /// <summary>Parses and validates a model.</summary>
    /// <exception cref="InvalidDataException">The JSON is malformed, the version is not
    /// <see cref="CurrentVersion"/>, the feature names differ from the code's, or an array has the
    /// wrong length or a non-finite value.</exception>
    public static ClassifierModel Load(Stream utf8Json, string source = "classifier")
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        ClassifierModel? model;
        try
        {
            model = JsonSerializer.Deserialize(utf8Json, RoutingJsonContext.Default.ClassifierModel);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid classifier file: {e.Message}", e);
        }

        if (model is null)
        {
            throw new InvalidDataException($"{source}: not a valid classifier file: the document is null.");
        }

        model.Validate(source);
        return model;
    }

    /// <summary>Parses and validates a model from a JSON string (see <see cref="Load(Stream, string)"/>).</summary>
    public static ClassifierModel FromJson(string json, string source = "classifier")
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        return Load(stream, source);
    }

    /// <summary>Reads and validates a model file.</summary>
    public static ClassifierModel LoadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>The model as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RoutingJsonContext.Default.ClassifierModel);

    /// <summary>Writes the model to <paramref name="path"/> (replacing it), creating the folder if needed.</summary>
    public void Save(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllText(path, ToJson() + "\n");
    }

    /// <summary>Checks the version, the feature names and the arrays.</summary>
    /// <exception cref="InvalidDataException">Anything is wrong; the message names it.</exception>
    public void Validate(string source = "classifier")
    {
        if (Version != CurrentVersion)
        {
            throw new InvalidDataException(
                $"{source}: classifier file version {Version} is not supported; this code reads version {CurrentVersion}.");
        }

        var expected = PromptFeatures.Names;
        if (Features is null)
        {
            throw new InvalidDataException($"{source}: the classifier file has no \"features\" list.");
        }

        for (int i = 0; i < Math.Max(expected.Count, Features.Count); i++)
        {
            string? want = i < expected.Count ? expected[i] : null;
            string? got = i < Features.Count ? Features[i] : null;
            if (!string.Equals(want, got, StringComparison.Ordinal))
            {
                throw new InvalidDataException(
                    $"{source}: feature names do not match the code's at position {i}: the file has " +
                    $"{(got is null ? "nothing" : $"\"{got}\"")}, the code expects {(want is null ? "nothing" : $"\"{want}\"")} " +
                    $"(file: {Features.Count} features, code: {expected.Count}). Retrain the classifier.");
            }
        }

        CheckArray(Means, "means", source, positive: false);
        CheckArray(Scales, "scales", source, positive: true);
        CheckArray(Weights, "weights", source, positive: false);
        if (!double.IsFinite(Bias))
        {
            throw new InvalidDataException($"{source}: \"bias\" is not a finite number.");
        }
    }

    private static void CheckArray(IReadOnlyList<double>? values, string name, string source, bool positive)
    {
        if (values is null)
        {
            throw new InvalidDataException($"{source}: the classifier file has no \"{name}\" array.");
        }

        if (values.Count != PromptFeatures.Count)
        {
            throw new InvalidDataException(
                $"{source}: \"{name}\" has {values.Count} values; expected {PromptFeatures.Count}, one per feature.");
        }

        for (int i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]) || (positive && values[i] <= 0))
            {
                throw new InvalidDataException(
                    $"{source}: \"{name}\"[{i}] ({PromptFeatures.Names[i]}) is {values[i]}; expected a finite" +
                    (positive ? " positive number." : " number."));
            }
        }
    }
}

/// <summary>Training figures stored with a model, for people reading the file.</summary>
public sealed class ClassifierMetrics
{
    /// <summary>Share of training examples classified correctly at a 0.5 cut.</summary>
    public double TrainAccuracy { get; set; }

    /// <summary>Mean log-loss on the training examples (without the L2 term).</summary>
    public double TrainLogLoss { get; set; }

    /// <summary>Number of training examples.</summary>
    public int Examples { get; set; }

    /// <summary>Share of the training examples labelled "needs GPU".</summary>
    public double PositiveShare { get; set; }
}

/// <summary>Source-generated (reflection-free, NativeAOT-safe) JSON for the routing files.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ClassifierModel))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext
{
}
