using System.Globalization;

using DataPlane.CommandLine;

using static DataPlane.CommandLine.OptionValues;

namespace DataPlane.Bench.Agent;

/// <summary>The outcome of parsing the agent bench command line: settings, a request for help, or an
/// error message that names the offending option.</summary>
/// <param name="Settings">The parsed settings; null when <paramref name="Error"/> is set or help was asked for.</param>
/// <param name="Error">Why the command line was refused, naming the option; null when it was accepted.</param>
/// <param name="HelpRequested">True when --help (or -h) was given; nothing else is then checked.</param>
public sealed record AgentBenchParseResult(AgentBenchSettings? Settings, string? Error, bool HelpRequested);

/// <summary>The <c>dataplane bench-agent</c> options on the shared command-line layer
/// (<see cref="CommandParser"/>). Options take their value as the next argument or after '=' (<c>--rate 4</c>,
/// <c>--rate=4</c>); a repeated option keeps its last value. Unknown options, missing or malformed
/// values, positional arguments and contradictory combinations are errors that name the option.</summary>
public static class AgentBenchArguments
{
    /// <summary>Upper bound of the arrivals one open-loop phase may schedule (rate × (warm-up + duration)).</summary>
    public const long MaxArrivals = 10_000_000;

    /// <summary>Most closed-loop workers.</summary>
    public const int MaxConcurrency = BenchRunSettings.MaxConcurrency;

    /// <summary>Largest <c>max_tokens</c> accepted.</summary>
    public const int MaxMaxTokens = 1 << 20;

    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "bench-agent", "mixed-workload load generator for an agent's OpenAI API")
    {
        Description = """
            Load generator for the agent's OpenAI-compatible API (POST /v1/chat/completions). Measures, per
            request, the time to the first content token and the total latency (from the scheduled send), the
            path that answered (the final "dataplane" object) and the status; reports local hit rate,
            escalation rate, counts by path and latency percentiles per path.
            """,
        Options =
        [
            CommandOption.Value("--target", "URL", "the agent's API (default http://127.0.0.1:8090)"),
            BenchRunOptions.Declare("--model", "\"model\" of every request (default local-small)"),
            CommandOption.Value("--prompts", "FILE", "JSONL prompts {\"prompt\": \"...\", \"gpu\": true|false}, sent in file order, cycled\n" +
                "(default: the built-in mix of short everyday and long/complex prompts)"),
            CommandOption.Value("--short-share", "X", "share of short prompts in the built-in mix, 0 to 1 (default 0.7)"),
            BenchRunOptions.Declare("--rate", "open loop: Poisson arrivals at R requests/s (default 4)"),
            BenchRunOptions.Declare("--concurrency", "closed loop instead: N workers sending back to back"),
            BenchRunOptions.Declare("--duration", "measured seconds (default 20)"),
            BenchRunOptions.Declare("--warmup", "seconds of load before the measurement, not measured (default 2)"),
            CommandOption.Value("--max-tokens", "N", "\"max_tokens\" of every request (default 32)"),
            CommandOption.Value("--stream", "true|false", "streamed (SSE) or one JSON answer (default true)"),
            CommandOption.Value("--mode", "MODE", "X-DataPlane-Mode header: auto, local, gpu or speculative (default: not sent)"),
            CommandOption.Value("--slo-ms", "X", "X-DataPlane-SLO-Ms header (default: not sent)"),
            CommandOption.Value("--direct-url", "URL", "also measure the local runtime directly (same schedule, prompts and body to\n" +
                "URL/v1/chat/completions, after the agent phase) and report the agent's\n" +
                "overhead: agent TTFT p50 on the local path - direct TTFT p50 of the same prompts"),
            CommandOption.Value("--metrics-url", "URL", "the agent's admin /metrics: scraped when the measurement starts and after it,\n" +
                "for the mean and bucket-estimated p50/p99 of dataplane_agent_decision_seconds"),
            BenchRunOptions.Declare("--json", "append the run as one JSON line"),
            BenchRunOptions.Declare("--csv", "append one row per phase and path (header written when the file is new)"),
            BenchRunOptions.Declare("--label", "carried into the JSON and every CSV row"),
            BenchRunOptions.Declare("--seed", "seed of the arrivals and of the built-in prompt order (default 1)"),
            BenchRunOptions.Declare("--timeout-ms", "per-request limit, send to end of answer (default 60000)"),
        ],
        Epilogue = """
            Local hit rate: share of successful requests whose dataplane.answered_by is "local".
            Escalation rate: share of successful requests whose dataplane.answered_by is "gpu" (path gpu, or
            path speculative answered by the GPU). A target without the dataplane object reports path "unknown".
            Exit codes: 0 done (even when requests failed), 1 I/O error, 2 bad arguments, 130 cancelled.
            """,
    };

    /// <summary>The usage text printed by --help.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

    /// <summary>Parses <paramref name="args"/> (the arguments after the verb).</summary>
    public static AgentBenchParseResult Parse(IReadOnlyList<string> args)
    {
        var (settings, error, help) = BenchRunOptions.Parse(Spec, args, new AgentBenchSettings(), ReadOption, Check);
        return new AgentBenchParseResult(settings, error, help);
    }

    /// <summary>Reads one of the options only this verb has.</summary>
    private static string? ReadOption(string name, string value, ref AgentBenchSettings s)
    {
        string? error = null;
        switch (name)
        {
            case "--target":
                if (TryUrl(name, value, out var target, out error))
                {
                    s = s with { Target = target };
                }

                break;
            case "--direct-url":
                if (TryUrl(name, value, out var direct, out error))
                {
                    s = s with { DirectUrl = direct };
                }

                break;
            case "--metrics-url":
                if (TryUrl(name, value, out var metrics, out error))
                {
                    s = s with { MetricsUrl = metrics };
                }

                break;
            case "--prompts":
                if ((error = NonEmpty(name, value, "file name")) is null)
                {
                    s = s with { PromptsPath = value };
                }

                break;
            case "--short-share":
                if (TryNumber(name, value, out double share, out error))
                {
                    if (share is < 0 or > 1)
                    {
                        error = $"option --short-share: '{value}' is not between 0 and 1";
                    }
                    else
                    {
                        s = s with { ShortShare = share };
                    }
                }

                break;
            case "--max-tokens":
                if (TryCount(name, value, 1, MaxMaxTokens, out int maxTokens, out error))
                {
                    s = s with { MaxTokens = maxTokens };
                }

                break;
            case "--stream":
                switch (value)
                {
                    case "true": s = s with { Stream = true }; break;
                    case "false": s = s with { Stream = false }; break;
                    default: error = $"option --stream: '{value}' is not true or false"; break;
                }

                break;
            case "--mode":
                if (value is "auto" or "local" or "gpu" or "speculative")
                {
                    s = s with { Mode = value };
                }
                else
                {
                    error = $"option --mode: '{value}' is not one of auto, local, gpu, speculative";
                }

                break;
            case "--slo-ms":
                if (TryPositive(name, value, out double slo, out error))
                {
                    s = s with { SloMs = slo };
                }

                break;
        }

        return error;
    }

    /// <summary>The combinations of the options; open or closed loop (<c>--concurrency</c> selects the closed loop);
    /// the arrivals the open loop may schedule.</summary>
    private static string? Check(ParsedCommand line, ref AgentBenchSettings s)
    {
        bool concurrencyGiven = line.Has("--concurrency");
        if (line.Has("--rate") && concurrencyGiven)
        {
            return "options --rate and --concurrency exclude each other: --rate is an open loop, --concurrency a closed loop";
        }

        if (line.Has("--short-share") && s.PromptsPath is not null)
        {
            return "option --short-share applies to the built-in prompts, not to --prompts";
        }

        s = s with { OpenLoop = !concurrencyGiven };
        if (s.OpenLoop)
        {
            double seconds = (s.Warmup + s.Duration).TotalSeconds;
            if (s.Rate * seconds > MaxArrivals)
            {
                return $"option --rate: {s.Rate.ToString(CultureInfo.InvariantCulture)} req/s over " +
                    $"{seconds.ToString(CultureInfo.InvariantCulture)} s is more than {MaxArrivals} requests (lower the rate or --duration)";
            }
        }

        return null;
    }

    private static bool TryUrl(string name, string value, out Uri url, out string? error)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0)
        {
            url = uri;
            error = null;
            return true;
        }

        url = null!;
        error = $"option {name}: '{value}' is not an http:// or https:// URL";
        return false;
    }
}
