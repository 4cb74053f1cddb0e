namespace DataPlane.Bench.Agent;

/// <summary>Everything one <c>dataplane bench-agent</c> run needs, as parsed by
/// <see cref="AgentBenchArguments"/>. Defaults are those of the command line.</summary>
public sealed record AgentBenchSettings : BenchRunSettings
{
    /// <summary>The command line's defaults: model "local-small", 4 requests/s, 20 s measured after 2 s of
    /// warm-up, 60 s per request.</summary>
    public AgentBenchSettings()
        : base(model: "local-small", rate: 4, duration: TimeSpan.FromSeconds(20), warmup: TimeSpan.FromSeconds(2),
            timeout: TimeSpan.FromSeconds(60))
    {
    }

    /// <summary>The agent's API base URL (<c>/v1/chat/completions</c> is appended).</summary>
    public Uri Target { get; init; } = new("http://127.0.0.1:8090");

    /// <summary>A JSONL prompt file (<c>{"prompt": "...", "gpu": true|false}</c>); null: the built-in mix.</summary>
    public string? PromptsPath { get; init; }

    /// <summary>Share of short prompts in the built-in mix, in [0, 1].</summary>
    public double ShortShare { get; init; } = BuiltInPrompts.DefaultShortShare;

    /// <summary>True: open loop at <see cref="BenchRunSettings.Rate"/>; false: closed loop with
    /// <see cref="BenchRunSettings.Concurrency"/> workers.</summary>
    public bool OpenLoop { get; init; } = true;

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
