namespace DataPlane.Bench;

/// <summary>The run and output settings both bench verbs have (<see cref="BenchSettings"/> of <c>dataplane bench</c>,
/// <see cref="Agent.AgentBenchSettings"/> of <c>dataplane bench-agent</c>): the model, the load (rate or workers,
/// warm-up, measured time, timeout) and where the results go. Each verb's settings derive from it with their own
/// defaults, those of its command line; <see cref="BenchRunOptions"/> declares and reads the switches.</summary>
public abstract record BenchRunSettings
{
    /// <summary>Most closed-loop workers.</summary>
    public const int MaxConcurrency = 10_000;

    /// <summary>Sets the defaults that differ between the verbs.</summary>
    /// <param name="model">The default <see cref="Model"/>.</param>
    /// <param name="rate">The default <see cref="Rate"/>.</param>
    /// <param name="duration">The default <see cref="Duration"/>.</param>
    /// <param name="warmup">The default <see cref="Warmup"/>.</param>
    /// <param name="timeout">The default <see cref="Timeout"/>.</param>
    protected BenchRunSettings(string model, double rate, TimeSpan duration, TimeSpan warmup, TimeSpan timeout)
    {
        (Model, Rate, Duration, Warmup, Timeout) = (model, rate, duration, warmup, timeout);
    }

    /// <summary>The model every request names (bench: "simple"; bench-agent: "local-small").</summary>
    public string Model { get; init; }

    /// <summary>Open-loop arrival rate, requests per second (bench: 100, of each step without a sweep;
    /// bench-agent: 4, Poisson).</summary>
    public double Rate { get; init; }

    /// <summary>Closed-loop workers, each sending its next request when its previous one ended. Default 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Measured time of each step or phase (bench: 5 s; bench-agent: 20 s).</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Load offered before each step's or phase's measurement starts, not measured (bench: 1 s;
    /// bench-agent: 2 s).</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Per-request limit (bench: the gRPC deadline, 10 s; bench-agent: from the send to the end of the
    /// answer, 60 s).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>CSV file the rows are appended to (header written when the file is new); null: none.</summary>
    public string? CsvPath { get; init; }

    /// <summary>JSON Lines file the whole run is appended to as one line; null: none.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Free text carried into every row (e.g. the batching policy under test). Default empty.</summary>
    public string Label { get; init; } = "";

    /// <summary>Seed of the arrival schedule and of the generated inputs or the built-in prompt order, so runs with
    /// the same settings offer the same arrivals. Default 1.</summary>
    public int Seed { get; init; } = 1;
}
