namespace DataPlane.Edge.Routing;

/// <summary>Scores a prompt with P(needs GPU | prompt) = σ(b + Σ wᵢ·(xᵢ − meanᵢ)/scaleᵢ), a logistic
/// regression over <see cref="PromptFeatures"/>. Scoring is one pass over the prompt plus
/// <see cref="PromptFeatures.Count"/> multiply-adds, with no heap allocation (a few microseconds for a
/// few-hundred-character prompt). Immutable and thread-safe.</summary>
public sealed class PromptClassifier
{
    /// <summary>Logical name of the embedded default model.</summary>
    public const string DefaultResourceName = "DataPlane.Edge.default-classifier.json";

    private static readonly Lazy<PromptClassifier> DefaultInstance = new(LoadDefault, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly double[] _means;
    private readonly double[] _inverseScales;
    private readonly double[] _weights;
    private readonly double _bias;

    /// <summary>Builds a classifier from a model, validating it first.</summary>
    /// <exception cref="InvalidDataException">The model is invalid (see <see cref="ClassifierModel.Validate"/>).</exception>
    public PromptClassifier(ClassifierModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Validate();
        Model = model;
        _means = new double[PromptFeatures.Count];
        _inverseScales = new double[PromptFeatures.Count];
        _weights = new double[PromptFeatures.Count];
        for (int i = 0; i < PromptFeatures.Count; i++)
        {
            _means[i] = model.Means![i];
            _inverseScales[i] = 1.0 / model.Scales![i];
            _weights[i] = model.Weights![i];
        }

        _bias = model.Bias;
    }

    /// <summary>The model shipped in the assembly (the resource <see cref="DefaultResourceName"/>,
    /// trained from <c>data/routing/train.jsonl</c>). Loaded once, on first use.</summary>
    /// <exception cref="InvalidOperationException">The assembly carries no default model.</exception>
    public static PromptClassifier Default => DefaultInstance.Value;

    /// <summary>The model this classifier scores with.</summary>
    public ClassifierModel Model { get; }

    /// <summary>Loads and validates a classifier file.</summary>
    /// <exception cref="InvalidDataException">The file is malformed, of another version, or was
    /// trained on other features.</exception>
    public static PromptClassifier Load(string path) => new(ClassifierModel.LoadFile(path));

    /// <summary>Loads and validates a classifier from a stream of UTF-8 JSON.</summary>
    public static PromptClassifier Load(Stream utf8Json, string source = "classifier") =>
        new(ClassifierModel.Load(utf8Json, source));

    /// <summary>P(needs GPU | <paramref name="prompt"/>), in (0, 1).</summary>
    public double Score(string prompt) => Score(prompt.AsSpan());

    /// <summary>P(needs GPU | <paramref name="prompt"/>), in (0, 1).</summary>
    public double Score(ReadOnlySpan<char> prompt)
    {
        Span<double> x = stackalloc double[PromptFeatures.Count];
        PromptFeatures.Extract(prompt, x);
        return ScoreFeatures(x);
    }

    /// <summary>The score of an already extracted feature vector.</summary>
    public double ScoreFeatures(ReadOnlySpan<double> features) => Sigmoid(Logit(features));

    /// <summary>The linear part b + Σ wᵢ·(xᵢ − meanᵢ)/scaleᵢ (the log-odds of needing the GPU).</summary>
    public double Logit(ReadOnlySpan<double> features)
    {
        if (features.Length < PromptFeatures.Count)
        {
            throw new ArgumentException($"Expected {PromptFeatures.Count} features, got {features.Length}.", nameof(features));
        }

        double z = _bias;
        for (int i = 0; i < PromptFeatures.Count; i++)
        {
            z += _weights[i] * (features[i] - _means[i]) * _inverseScales[i];
        }

        return z;
    }

    /// <summary>Each feature's contribution wᵢ·(xᵢ − meanᵢ)/scaleᵢ to the log-odds, for explaining a
    /// decision (the log-odds are the bias plus their sum).</summary>
    public void Contributions(ReadOnlySpan<char> prompt, Span<double> contributions)
    {
        PromptFeatures.Extract(prompt, contributions);
        for (int i = 0; i < PromptFeatures.Count; i++)
        {
            contributions[i] = _weights[i] * (contributions[i] - _means[i]) * _inverseScales[i];
        }
    }

    /// <summary>The logistic function, computed without overflow for large |z|.</summary>
    public static double Sigmoid(double z)
    {
        if (z >= 0)
        {
            return 1.0 / (1.0 + Math.Exp(-z));
        }

        double e = Math.Exp(z);
        return e / (1.0 + e);
    }

    private static PromptClassifier LoadDefault()
    {
        using var stream = typeof(PromptClassifier).Assembly.GetManifestResourceStream(DefaultResourceName)
            ?? throw new InvalidOperationException(
                $"The assembly carries no embedded classifier '{DefaultResourceName}' (Routing/default-classifier.json).");
        return Load(stream, DefaultResourceName);
    }
}
