namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>How the simulated local runtime behaves: a Pi-5-class small model (defaults from the
/// Hailo-10H's Qwen2.5-1.5B figures: 0.3 s to the first token, 8 tokens/s) with a Pi's limited
/// parallelism: <see cref="Parallelism"/> generations at once (llama.cpp's slots), later requests wait
/// inside the runtime in arrival order, and every generation slows down while others run beside it
/// (<see cref="ConcurrencySlowdown"/>).</summary>
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

    /// <summary>Generations served at once (llama.cpp's <c>--parallel</c> slots, reported as <c>total_slots</c> by
    /// <c>GET /props</c>); more requests wait inside the runtime, first come first served. Default 2.</summary>
    public int Parallelism { get; init; } = 2;

    /// <summary>How much each generation slows down per other generation running at the same time: with n at
    /// once, prefill and every token interval take 1 + <see cref="ConcurrencySlowdown"/>·(n − 1) times as long
    /// (a Pi's four cores and memory bandwidth are shared). Default 0.4: two at once run at 1/1.4 of the
    /// single-stream speed each (about 11 tokens/s together instead of 8).</summary>
    public double ConcurrencySlowdown { get; init; } = 0.4;

    /// <summary>The slowdown factor with <paramref name="active"/> generations running (1 for one or none).</summary>
    public double SlowdownFactor(int active) => 1 + (ConcurrencySlowdown * Math.Max(0, active - 1));

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

        if (Parallelism < 1)
        {
            throw new ArgumentException($"Parallelism {Parallelism} is less than 1", nameof(Parallelism));
        }

        if (!double.IsFinite(ConcurrencySlowdown) || ConcurrencySlowdown < 0)
        {
            throw new ArgumentException($"ConcurrencySlowdown {ConcurrencySlowdown} is not a non-negative number", nameof(ConcurrencySlowdown));
        }

        if (MaxTokens < 1)
        {
            throw new ArgumentException($"MaxTokens {MaxTokens} is less than 1", nameof(MaxTokens));
        }
    }
}
