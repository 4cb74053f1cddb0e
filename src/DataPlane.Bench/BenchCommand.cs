using System.Globalization;

namespace DataPlane.Bench;

/// <summary>The <c>dataplane bench</c> verb: parses its arguments (<see cref="BenchArguments"/>), runs one
/// step per rate or concurrency (<see cref="LoadRunner"/>), prints a row per step and appends the
/// results to the CSV and JSON files asked for. CSV rows are written as each step finishes, so an
/// interrupted sweep keeps what it measured; the JSON line is written at the end (also when cancelled).</summary>
public static class BenchCommand
{
    /// <summary>Exit code of a run that finished, whatever its requests answered.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code when the results could not be written or no request could be built.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code for bad arguments.</summary>
    public const int ExitUsage = 2;

    /// <summary>Exit code when <c>cancellationToken</c> stopped the run (as after SIGINT).</summary>
    public const int ExitCancelled = 130;

    /// <summary>Runs the verb with <paramref name="args"/> (the arguments after "bench") and returns the
    /// process exit code: 0 when the run finished (even if every request failed), 1 on I/O failure or
    /// metadata the bench cannot generate inputs for, 2 on bad arguments, 130 when cancelled.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var parsed = BenchArguments.Parse(args);
        if (parsed.HelpRequested)
        {
            await stdout.WriteLineAsync(BenchArguments.Usage).ConfigureAwait(false);
            return ExitOk;
        }

        if (parsed.Settings is not { } settings)
        {
            await stderr.WriteLineAsync(BenchArguments.Spec.FormatError(parsed.Error!)).ConfigureAwait(false);
            return ExitUsage;
        }

        if (settings.CsvPath is { } csv)
        {
            string? problem;
            try
            {
                problem = CsvReport.CheckAppendable(csv);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                await stderr.WriteLineAsync($"dataplane bench: option --csv: {problem}").ConfigureAwait(false);
                return ExitFailed;
            }
        }

        var started = DateTimeOffset.UtcNow;
        var steps = new List<StepResult>();
        int exit = ExitOk;
        using var session = new LoadSession(settings);
        await stdout.WriteLineAsync(Describe(settings)).ConfigureAwait(false);
        int labelWidth = TableReport.LabelWidth(settings.Label);
        await stdout.WriteLineAsync(TableReport.Header(labelWidth)).ConfigureAwait(false);
        try
        {
            foreach (double value in settings.Steps)
            {
                if (await session.PrepareAsync(ct).ConfigureAwait(false) is { } warning)
                {
                    await stderr.WriteLineAsync($"dataplane bench: warning: {warning}").ConfigureAwait(false);
                }

                var result = await LoadRunner.RunStepAsync(session, value, ct).ConfigureAwait(false);
                steps.Add(result);
                await stdout.WriteLineAsync(TableReport.Row(result, labelWidth)).ConfigureAwait(false);
                if (session.Server is { LastError: { } scrape })
                {
                    await stderr.WriteLineAsync($"dataplane bench: warning: --server-metrics: {scrape}").ConfigureAwait(false);
                }
                if (settings.CsvPath is { } path)
                {
                    CsvReport.Append(path, [result]);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"dataplane bench: cancelled after {steps.Count} of {settings.Steps.Count} steps").ConfigureAwait(false);
            exit = ExitCancelled;
        }
        catch (NotSupportedException e)
        {
            await stderr.WriteLineAsync($"dataplane bench: {e.Message}").ConfigureAwait(false);
            exit = ExitFailed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"dataplane bench: cannot write {settings.CsvPath}: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }

        long late = steps.Sum(s => s.LateSends);
        if (late > 0)
        {
            await stdout.WriteLineAsync(
                $"note: {late.ToString(CultureInfo.InvariantCulture)} sends left more than " +
                $"{LoadRunner.LateSendThreshold.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms behind schedule " +
                "(the client fell behind); their latency still counts from the schedule").ConfigureAwait(false);
        }

        if (settings.JsonPath is { } json)
        {
            try
            {
                JsonReport.Append(json, new BenchRun { StartedUtc = started, Arguments = args, Steps = steps });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await stderr.WriteLineAsync($"dataplane bench: cannot write {json}: {e.Message}").ConfigureAwait(false);
                return ExitFailed;
            }
        }

        return exit;
    }

    private static string Describe(BenchSettings s)
    {
        var c = CultureInfo.InvariantCulture;
        string what = s.Rpc == RpcKind.Live ? "rpc live (ServerLive)" : $"model {s.Model}, batch {s.Batch.ToString(c)}";
        string protocol = s.Protocol == WireProtocol.Http ? "HTTP" : "gRPC";
        return $"bench {s.Target} ({protocol}): {what}, mode {s.Mode.Name()}, {s.Duration.TotalSeconds.ToString(c)} s per step " +
            $"after {s.Warmup.TotalSeconds.ToString(c)} s warm-up, SLO {s.Slo.TotalMilliseconds.ToString(c)} ms, " +
            $"{s.Connections.ToString(c)} connection(s), timeout {s.Timeout.TotalMilliseconds.ToString(c)} ms, seed {s.Seed.ToString(c)}";
    }
}
