namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>How the simulated local runtime behaves: a Pi-5-class small model (defaults from the
/// Hailo-10H's Qwen2.5-1.5B figures: 0.3 s to the first token, 8 tokens/s).</summary>
public sealed record SimulatedLocalOptions
{
    /// <summary>Default <see cref="ModelName"/>; says it is a simulation.</summary>
    public const string DefaultModelName = "local-small-sim";

    /// <summary>Model name the server reports (<c>GET /v1/models</c>, the <c>model</c> of every chunk).</summary>
    public string ModelName { get; init; } = DefaultModelName;

    /// <summary>Delay from a request's arrival to its first token. Default 0.3 s.</summary>
    public TimeSpan TimeToFirstToken { get; init; } = TimeSpan.FromSeconds(0.3);

    /// <summary>Decode rate after the first token. Default 8 tokens/s.</summary>
    public double TokensPerSecond { get; init; } = 8;

    /// <summary>Token cap: used when a request sets none, and the most any request gets. Default 256.</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelName))
        {
            throw new ArgumentException("the simulated model needs a name", nameof(ModelName));
        }

        if (TimeToFirstToken < TimeSpan.Zero)
        {
            throw new ArgumentException($"TimeToFirstToken {TimeToFirstToken} is negative", nameof(TimeToFirstToken));
        }

        if (!double.IsFinite(TokensPerSecond) || TokensPerSecond <= 0)
        {
            throw new ArgumentException($"TokensPerSecond {TokensPerSecond} is not a positive number", nameof(TokensPerSecond));
        }

        if (MaxTokens < 1)
        {
            throw new ArgumentException($"MaxTokens {MaxTokens} is less than 1", nameof(MaxTokens));
        }
    }
}
