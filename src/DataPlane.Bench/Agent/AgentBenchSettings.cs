namespace DataPlane.Bench.Agent;

/// <summary>Everything one <c>dataplane bench-agent</c> run needs, as parsed by
/// <see cref="AgentBenchArguments"/>. Defaults are those of the command line.</summary>
public sealed record AgentBenchSettings
{
    /// <summary>The agent's API base URL (<c>/v1/chat/completions</c> is appended).</summary>
    public Uri Target { get; init; } = new("http://127.0.0.1:8090");

    /// <summary>The <c>model</c> of every request.</summary>
    public string Model { get; init; } = "local-small";

    /// <summary>A JSONL prompt file (<c>{"prompt": "...", "gpu": true|false}</c>); null: the built-in mix.</summary>
    public string? PromptsPath { get; init; }

    /// <summary>Share of short prompts in the built-in mix, in [0, 1].</summary>
    public double ShortShare { get; init; } = BuiltInPrompts.DefaultShortShare;

    /// <summary>True: open loop at <see cref="Rate"/>; false: closed loop with <see cref="Concurrency"/> workers.</summary>
    public bool OpenLoop { get; init; } = true;

    /// <summary>Open-loop Poisson arrival rate, requests per second.</summary>
    public double Rate { get; init; } = 4;

    /// <summary>Closed-loop workers, each sending its next request when its previous one ended.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Measured seconds (per phase).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Seconds of load before the measurement (per phase); sent, not measured.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The <c>max_tokens</c> of every request.</summary>
    public int MaxTokens { get; init; } = 32;

    /// <summary>The <c>stream</c> of every request.</summary>
    public bool Stream { get; init; } = true;

    /// <summary>The <c>X-DataPlane-Mode</c> header (auto, local, gpu, speculative); null: not sent.</summary>
    public string? Mode { get; init; }

    /// <summary>The <c>X-DataPlane-SLO-Ms</c> header; null: not sent.</summary>
    public double? SloMs { get; init; }

    /// <summary>The local runtime's base URL, measured directly after the agent; null: not measured.</summary>
    public Uri? DirectUrl { get; init; }

    /// <summary>The agent's admin <c>/metrics</c> URL, scraped around the agent phase; null: not scraped.</summary>
    public Uri? MetricsUrl { get; init; }

    /// <summary>Append the run as one JSON line to this file.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Append the run's rows (one per phase and path) to this CSV file.</summary>
    public string? CsvPath { get; init; }

    /// <summary>Carried into the JSON and every CSV row.</summary>
    public string Label { get; init; } = "";

    /// <summary>Seed of the arrival schedule and of the built-in prompt order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Per-request limit, from the send to the end of the answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where chat completions of <see cref="Target"/> are posted.</summary>
    public Uri TargetCompletions => CompletionsUrl(Target);

    /// <summary>Where chat completions of <see cref="DirectUrl"/> are posted (null without one).</summary>
    public Uri? DirectCompletions => DirectUrl is { } u ? CompletionsUrl(u) : null;

    /// <summary><paramref name="baseUrl"/> + <c>/v1/chat/completions</c>, unless it already ends so.</summary>
    public static Uri CompletionsUrl(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        const string Suffix = "/v1/chat/completions";
        string s = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return s.EndsWith(Suffix, StringComparison.Ordinal) ? new Uri(s) : new Uri(s + Suffix);
    }

    /// <summary>The metrics URL as given, or <c>/metrics</c> when it names no path.</summary>
    public static Uri MetricsEndpoint(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.AbsolutePath is "" or "/" ? new Uri(url, "/metrics") : url;
    }
}
