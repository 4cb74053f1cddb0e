using DataPlane.Bench.Load;
using Grpc.Core;

namespace DataPlane.Bench;

/// <summary>Runs measured steps of KServe v2 load (<c>dataplane bench</c>) and returns their results: the load loop
/// is <see cref="LoadEngine"/>'s (open loop with a precise pacing thread and no coordinated omission, or closed
/// loop; warm-up sent but not measured), the requests are <see cref="LoadSession"/>'s. Every measured request is
/// followed to completion (at worst its deadline) before the step returns, and failures are counted by gRPC
/// status; a step in which every request failed still returns a result.</summary>
public static class LoadRunner
{
    /// <summary>An open-loop send that leaves later than this after its scheduled time counts as late.</summary>
    public static readonly TimeSpan LateSendThreshold = LoadEngine.LateSendThreshold;

    /// <summary>Runs one step at <paramref name="offered"/> (requests per second, or workers in closed
    /// loop) with a session of its own: connects, reads the model's metadata and measures.</summary>
    public static async Task<StepResult> RunStepAsync(BenchSettings settings, double offered, CancellationToken cancellationToken)
    {
        using var session = new LoadSession(settings);
        _ = await session.PrepareAsync(cancellationToken).ConfigureAwait(false);
        return await RunStepAsync(session, offered, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one step on <paramref name="session"/>, whose request pool should have been prepared
    /// (<see cref="LoadSession.PrepareAsync"/>). <paramref name="offered"/> is the rate in requests per
    /// second (open loop) or the number of workers (closed loop).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<StepResult> RunStepAsync(LoadSession session, double offered, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(offered);
        var s = session.Settings;
        if (!s.Mode.IsOpenLoop() && (offered != Math.Floor(offered) || offered > BenchArguments.MaxConcurrency))
        {
            throw new ArgumentOutOfRangeException(nameof(offered), offered, $"a closed-loop step needs a whole number of workers up to {BenchArguments.MaxConcurrency}");
        }

        await session.WarmUpConnectionsAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var plan = new LoadPlan { Mode = s.Mode, Offered = offered, Warmup = s.Warmup, Duration = s.Duration, Seed = s.Seed };
        // The server's counters are read when the warm-up ends and once every measured request has completed.
        ServerSample? before = null;
        var server = session.Server;
        Func<Task>? measurementStarted = server is null ? null : async () => before = await server.ReadAsync(cancellationToken).ConfigureAwait(false);
        var run = await LoadEngine.RunAsync(plan, new SessionSender(session), TimeProvider.System, measurementStarted, cancellationToken).ConfigureAwait(false);
        ServerSample? after = server is null ? null : await server.ReadAsync(cancellationToken).ConfigureAwait(false);
        var samples = new Sample[run.Samples.Count];
        for (int i = 0; i < samples.Length; i++)
        {
            var x = run.Samples[i];
            samples[i] = new Sample(x.LatencyNs, x.EndNs, x.Result);
        }

        var result = Summarize(s, offered, samples, run.WindowStartNs, run.LateSends, run.MaxSendLagNs);
        var (cpu, allocated) = ServerCounters.PerRequest(before, after, result.Ok);
        return result with { ServerCpuUsPerRequest = cpu, ServerAllocBytesPerRequest = allocated };
    }

    /// <summary>Turns the measured requests of a step into its result (see <see cref="StepResult"/>).</summary>
    internal static StepResult Summarize(BenchSettings s, double offered, ReadOnlySpan<Sample> samples, long windowStart, long lateSends, long maxLagNs)
    {
        long sloNs = Nanoseconds(s.Slo);
        var latencies = new long[samples.Length];
        var failed = new List<long>();
        var errors = new SortedDictionary<StatusCode, long>();
        int ok = 0;
        long withinSlo = 0, lastOkEnd = long.MinValue;
        double sumMs = 0;
        foreach (var sample in samples)
        {
            if (sample.Status != StatusCode.OK)
            {
                errors[sample.Status] = errors.GetValueOrDefault(sample.Status) + 1;
                failed.Add(sample.LatencyNs);
                continue;
            }

            latencies[ok++] = sample.LatencyNs;
            sumMs += sample.LatencyNs / 1e6;
            lastOkEnd = Math.Max(lastOkEnd, sample.EndNs);
            if (sample.LatencyNs <= sloNs)
            {
                withinSlo++;
            }
        }

        var sorted = latencies.AsSpan(0, ok);
        sorted.Sort();
        failed.Sort();
        long durationNs = Nanoseconds(s.Duration);
        long measuredNs = ok > 0 ? Math.Max(durationNs, lastOkEnd - windowStart) : durationNs;
        double? Pct(double p, ReadOnlySpan<long> span) => span.IsEmpty ? null : Percentiles.NearestRank(span, p) / 1e6;
        return new StepResult
        {
            Label = s.Label,
            Target = s.Target.ToString(),
            Model = s.Model,
            Rpc = s.Rpc,
            Mode = s.Mode,
            Offered = offered,
            Batch = s.Batch,
            MeasuredSeconds = measuredNs / 1e9,
            Sent = samples.Length,
            Ok = ok,
            Errors = samples.Length - ok,
            ErrorsByStatus = errors.ToDictionary(e => StatusNames.Name(e.Key), e => e.Value, StringComparer.Ordinal),
            ThroughputRps = ok / (measuredNs / 1e9),
            P50Ms = Pct(50, sorted),
            P90Ms = Pct(90, sorted),
            P99Ms = Pct(99, sorted),
            MaxMs = Pct(100, sorted),
            MeanMs = ok > 0 ? sumMs / ok : null,
            SloMs = s.Slo.TotalMilliseconds,
            SloAttainmentPct = samples.IsEmpty ? 0 : 100.0 * withinSlo / samples.Length,
            LateSends = lateSends,
            MaxSendLagMs = maxLagNs / 1e6,
            ErrorP50Ms = Pct(50, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(failed)),
            ErrorP99Ms = Pct(99, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(failed)),
        };
    }

    private static long Nanoseconds(TimeSpan t) => t.Ticks * 100;

    /// <summary>One measured request: latency, completion time (monotonic ns) and gRPC status.</summary>
    internal readonly record struct Sample(long LatencyNs, long EndNs, StatusCode Status);

    /// <summary>A request of a step: the session's next pooled request on its next channel; the outcome is its gRPC status.</summary>
    private sealed class SessionSender(LoadSession session) : ILoadSender<StatusCode>
    {
        public Task<StatusCode> SendAsync(long sequence, long scheduledNs, CancellationToken cancellationToken) =>
            session.SendAsync(sequence, cancellationToken);
    }
}
