using System.Globalization;
using DataPlane.Edge.Contract;

namespace DataPlane.Bench.Agent;

/// <summary>The <c>dataplane bench-agent</c> verb: load against the agent's OpenAI-compatible API.
/// Parses its arguments (<see cref="AgentBenchArguments"/>); runs the agent phase (and, with
/// --direct-url, the same schedule and prompts against the local runtime directly, after it); scrapes
/// the agent's decision-time histogram around the measurement (--metrics-url); prints the table
/// (<see cref="AgentBenchTable"/>) and appends the run to the JSON (<see cref="AgentBenchJson"/>) and
/// CSV (<see cref="AgentBenchCsv"/>) files asked for.</summary>
public static class AgentBenchCommand
{
    /// <summary>Exit code of a run that finished, whatever its requests answered.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code when the results could not be written.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code for bad arguments (including an unreadable or malformed --prompts file).</summary>
    public const int ExitUsage = 2;

    /// <summary>Exit code when the cancellation token stopped the run (as after SIGINT).</summary>
    public const int ExitCancelled = 130;

    private const string Name = "dataplane bench-agent";

    /// <summary>Runs the verb with <paramref name="args"/> (the arguments after "bench") and returns the
    /// process exit code: 0 when the run finished (even if every request failed), 1 when the results
    /// could not be written, 2 on bad arguments, 130 when cancelled.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var parsed = AgentBenchArguments.Parse(args);
        if (parsed.HelpRequested)
        {
            await stdout.WriteLineAsync(AgentBenchArguments.Usage).ConfigureAwait(false);
            return ExitOk;
        }

        if (parsed.Settings is not { } settings)
        {
            await stderr.WriteLineAsync(AgentBenchArguments.Spec.FormatError(parsed.Error!)).ConfigureAwait(false);
            return ExitUsage;
        }

        PromptSet prompts;
        try
        {
            prompts = LoadPrompts(settings);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            await stderr.WriteLineAsync($"{Name}: option --prompts: {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }

        if (settings.CsvPath is { } csv)
        {
            string? problem;
            try
            {
                problem = AgentBenchCsv.CheckAppendable(csv);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                await stderr.WriteLineAsync($"{Name}: option --csv: {problem}").ConfigureAwait(false);
                return ExitFailed;
            }
        }

        var started = DateTimeOffset.UtcNow;
        await stdout.WriteLineAsync(Describe(settings, prompts)).ConfigureAwait(false);
        using var client = ChatRequestSender.CreateClient();
        AgentBenchResult result;
        try
        {
            result = await RunPhasesAsync(settings, prompts, client, stdout, stderr, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"{Name}: cancelled").ConfigureAwait(false);
            return ExitCancelled;
        }

        result = result with { StartedUtc = started, Arguments = args };
        foreach (string line in AgentBenchTable.Lines(result))
        {
            await stdout.WriteLineAsync(line).ConfigureAwait(false);
        }

        if (settings.JsonPath is { } json)
        {
            try
            {
                AgentBenchJson.Append(json, result);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"{Name}: cannot write {json}: {e.Message}").ConfigureAwait(false);
                return ExitFailed;
            }
        }

        if (settings.CsvPath is { } path)
        {
            try
            {
                AgentBenchCsv.Append(path, result);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"{Name}: cannot write {path}: {e.Message}").ConfigureAwait(false);
                return ExitFailed;
            }
        }

        return ExitOk;
    }

    /// <summary>The prompts of a run: the file's, or the built-in mix.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="InvalidDataException">A line is malformed.</exception>
    /// <exception cref="ArgumentException">The file holds no prompts.</exception>
    public static PromptSet LoadPrompts(AgentBenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.PromptsPath is not { } path)
        {
            return PromptSet.BuiltInMix(settings.ShortShare, settings.Seed);
        }

        var lines = PromptFile.Read(path, requireLabels: false);
        return PromptSet.FromFile(
            lines.Select(l => new BenchPrompt(l.Prompt, l.Gpu switch { true => "gpu", false => "local", null => "unlabelled" })).ToList(), path);
    }

    private static async Task<AgentBenchResult> RunPhasesAsync(AgentBenchSettings settings, PromptSet prompts, HttpClient client,
        TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        HistogramSnapshot? before = null;
        string? scrapeError = null;
        Uri? metrics = settings.MetricsUrl is { } m ? AgentBenchSettings.MetricsEndpoint(m) : null;

        async Task ScrapeBeforeAsync()
        {
            (before, scrapeError) = await ScrapeAsync(client, metrics!, ct).ConfigureAwait(false);
        }

        Func<Task>? hook = null;
        if (metrics is not null)
        {
            if (settings.Warmup > TimeSpan.Zero)
            {
                hook = ScrapeBeforeAsync;
            }
            else
            {
                await ScrapeBeforeAsync().ConfigureAwait(false);
            }
        }

        var agentUrl = settings.TargetCompletions;
        await stdout.WriteLineAsync($"agent phase: {agentUrl}").ConfigureAwait(false);
        var agentSender = new ChatRequestSender(client, agentUrl, prompts, settings, agentHeaders: true);
        var agent = await AgentLoadRunner.RunAsync(settings, agentSender, hook, ct).ConfigureAwait(false);
        DecisionSummary? decision = null;
        if (metrics is not null)
        {
            if (before is null)
            {
                decision = new DecisionSummary(0, null, null, null, null, scrapeError ?? $"{AgentBenchReport.DecisionMetric} not found at {metrics}");
            }
            else
            {
                var (after, afterError) = await ScrapeAsync(client, metrics, ct).ConfigureAwait(false);
                decision = after is null
                    ? new DecisionSummary(0, null, null, null, null, afterError)
                    : AgentBenchReport.Decision(before, after);
            }

            if (decision.Error is { } e)
            {
                await stderr.WriteLineAsync($"{Name}: warning: no decision time: {e}").ConfigureAwait(false);
            }
        }

        var (hit, escalation) = AgentBenchReport.Rates(agent.Samples);
        var localIndices = AgentBenchReport.LocalIndices(agent.Samples);
        PhaseSummary? directSummary = null;
        OverheadSummary? overhead = null;
        if (settings.DirectCompletions is { } directUrl)
        {
            await stdout.WriteLineAsync($"direct phase: {directUrl}").ConfigureAwait(false);
            var directSender = new ChatRequestSender(client, directUrl, prompts, settings, agentHeaders: false);
            var direct = await AgentLoadRunner.RunAsync(settings, directSender, null, ct).ConfigureAwait(false);
            directSummary = AgentBenchReport.SummarizePhase("direct", directUrl.ToString(), direct, localIndices);
            overhead = AgentBenchReport.Overhead(agent.Samples, direct.Samples);
        }

        return new AgentBenchResult
        {
            Settings = settings,
            StartedUtc = DateTimeOffset.UtcNow,
            Arguments = [],
            Prompts = prompts.Source,
            Agent = AgentBenchReport.SummarizePhase("agent", agentUrl.ToString(), agent),
            Direct = directSummary,
            LocalHitRate = hit,
            EscalationRate = escalation,
            Overhead = overhead,
            Decision = decision,
        };
    }

    /// <summary>Reads <see cref="AgentBenchReport.DecisionMetric"/> from <paramref name="url"/>.</summary>
    private static async Task<(HistogramSnapshot? Snapshot, string? Error)> ScrapeAsync(HttpClient client, Uri url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var response = await client.GetAsync(url, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"GET {url} answered {(int)response.StatusCode}");
            }

            string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            var snapshot = HistogramScrape.Parse(text, AgentBenchReport.DecisionMetric);
            return snapshot is null ? (null, $"{AgentBenchReport.DecisionMetric} not found at {url}") : (snapshot, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"GET {url} timed out");
        }
        catch (HttpRequestException e)
        {
            return (null, $"GET {url} failed: {e.Message}");
        }
        catch (FormatException e)
        {
            return (null, $"{url}: {e.Message}");
        }
    }

    private static string Describe(AgentBenchSettings s, PromptSet prompts)
    {
        var c = CultureInfo.InvariantCulture;
        string load = s.OpenLoop
            ? $"open loop, Poisson {s.Rate.ToString(c)} req/s"
            : $"closed loop, {s.Concurrency.ToString(c)} workers";
        string promptText = prompts.BuiltIn
            ? $"built-in prompts ({(100 * prompts.ShortShare!.Value).ToString("F0", c)}% short)"
            : $"prompts from {prompts.Source}";
        return $"agent bench {s.TargetCompletions}: model {s.Model}, {load}, {s.Duration.TotalSeconds.ToString(c)} s after " +
            $"{s.Warmup.TotalSeconds.ToString(c)} s warm-up, max_tokens {s.MaxTokens.ToString(c)}, {(s.Stream ? "streamed" : "not streamed")}, " +
            $"mode {s.Mode ?? "(not sent)"}{(s.SloMs is { } slo ? $", SLO {slo.ToString(c)} ms" : "")}, {promptText}, seed {s.Seed.ToString(c)}, " +
            $"timeout {s.Timeout.TotalMilliseconds.ToString(c)} ms" +
            (s.DirectCompletions is { } d ? $"; direct {d}" : "") +
            (s.MetricsUrl is { } m ? $"; metrics {AgentBenchSettings.MetricsEndpoint(m)}" : "");
    }
}
