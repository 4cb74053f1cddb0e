namespace DataPlane.Edge.Routing;

/// <summary>Routing settings (configuration section <c>Routing</c>). Every default is the value written
/// below; <see cref="Threshold"/> is meant to be calibrated (see <see cref="Calibration"/> and
/// <see cref="ConfigWriter"/>).</summary>
public sealed record RoutingOptions
{
    /// <summary>Context window of the local model in tokens; a prompt estimated above it escalates. Default 2048.</summary>
    public int LocalContextTokens { get; init; } = 2048;

    /// <summary>Most tokens the local model may generate; a request whose max_tokens is above it escalates. Default 512.</summary>
    public int LocalMaxTokens { get; init; } = 512;

    /// <summary>Calibrated classifier threshold: a score strictly above it means "needs the GPU". Default 0.5.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Half-width of the uncertainty band around <see cref="Threshold"/>: a score in
    /// [Threshold − Band, Threshold + Band] runs speculatively (local and GPU at once). 0 disables
    /// speculation from the classifier. Default 0.1.</summary>
    public double UncertaintyBand { get; init; } = 0.1;

    /// <summary>Tokens looked at by <see cref="TokenConfidence"/>. Default 8.</summary>
    public int TokenConfidenceK { get; init; } = TokenConfidence.DefaultK;

    /// <summary>Quantile of token probabilities <see cref="TokenConfidence"/> reports. Default 0.1 (10th percentile).</summary>
    public double TokenConfidenceQuantile { get; init; } = TokenConfidence.DefaultQuantile;

    /// <summary>A local stream whose token-probability quantile is below this probability escalates
    /// mid-stream. Default 0.35.</summary>
    public double TokenConfidenceThreshold { get; init; } = 0.35;

    /// <summary>Models only the GPU pool serves (matched ignoring case). Default empty.</summary>
    public IReadOnlyList<string> GpuOnlyModels { get; init; } = [];

    /// <summary>Models the local runtime serves (matched ignoring case). When not empty, any other named
    /// model is treated as GPU-only. Default empty (every model may run locally).</summary>
    public IReadOnlyList<string> LocalModels { get; init; } = [];

    /// <summary>A <see cref="TokenConfidence"/> set up with <see cref="TokenConfidenceK"/> and <see cref="TokenConfidenceQuantile"/>.</summary>
    public TokenConfidence CreateTokenConfidence() => new(TokenConfidenceK, TokenConfidenceQuantile);

    /// <summary>True when <paramref name="model"/> is listed in <see cref="GpuOnlyModels"/>, or
    /// <see cref="LocalModels"/> is not empty and does not list it. An empty or null model name (the
    /// default model) is never GPU-only.</summary>
    public bool IsGpuOnly(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return false;
        }

        if (Contains(GpuOnlyModels, model))
        {
            return true;
        }

        return LocalModels.Count > 0 && !Contains(LocalModels, model);
    }

    /// <summary>Checks the values' ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (LocalContextTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LocalContextTokens), LocalContextTokens, "Must be at least 1.");
        }

        if (LocalMaxTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LocalMaxTokens), LocalMaxTokens, "Must be at least 1.");
        }

        if (double.IsNaN(Threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Must be a number.");
        }

        if (!(UncertaintyBand >= 0 && UncertaintyBand <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(UncertaintyBand), UncertaintyBand, "Must be in [0, 1].");
        }

        if (TokenConfidenceK < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(TokenConfidenceK), TokenConfidenceK, "Must be at least 1.");
        }

        if (!(TokenConfidenceQuantile >= 0 && TokenConfidenceQuantile <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TokenConfidenceQuantile), TokenConfidenceQuantile, "Must be in [0, 1].");
        }

        if (!(TokenConfidenceThreshold >= 0 && TokenConfidenceThreshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TokenConfidenceThreshold), TokenConfidenceThreshold, "Must be in [0, 1].");
        }
    }

    private static bool Contains(IReadOnlyList<string> models, string model)
    {
        for (int i = 0; i < models.Count; i++)
        {
            if (string.Equals(models[i], model, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
