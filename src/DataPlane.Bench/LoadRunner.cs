using DataPlane.Interop.Timing;
using Grpc.Core;

namespace DataPlane.Bench;

/// <summary>Runs measured steps and returns their results.
/// <para>Open loop (<see cref="LoadMode.Poisson"/>, <see cref="LoadMode.Constant"/>): the arrival schedule
/// of warm-up plus duration is computed first; a dedicated thread sleeps until each send time with
/// sub-millisecond precision (ppoll on an eventfd, no spinning) and starts the request without waiting
/// for earlier ones to finish. A request's latency runs from its scheduled time, so when the client
/// falls behind the delay is counted, not hidden (no coordinated omission); such sends are counted as
/// late. The synchronous part of starting a call (serialising the request) runs on the pacing thread,
/// so a request too large to serialise within the gaps shows up as late sends. Requests scheduled in
/// the warm-up are sent but not measured.</para>
/// <para>Closed loop: N workers each send, await the answer and send again; requests started in the
/// warm-up are not measured, and no request starts after the step's end.</para>
/// <para>Every measured request is followed to completion (at worst its deadline) before the step
/// returns, and failures are counted by gRPC status; a step in which every request failed still
/// returns a result.</para></summary>
public static class LoadRunner
{
    /// <summary>An open-loop send that leaves later than this after its scheduled time counts as late.</summary>
    public static readonly TimeSpan LateSendThreshold = TimeSpan.FromMilliseconds(1);

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
        if (!session.Settings.Mode.IsOpenLoop() && (offered != Math.Floor(offered) || offered > BenchArguments.MaxConcurrency))
        {
            throw new ArgumentOutOfRangeException(nameof(offered), offered, $"a closed-loop step needs a whole number of workers up to {BenchArguments.MaxConcurrency}");
        }

        await session.WarmUpConnectionsAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return session.Settings.Mode.IsOpenLoop()
            ? await RunOpenLoopAsync(session, offered, cancellationToken).ConfigureAwait(false)
            : await RunClosedLoopAsync(session, (int)offered, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<StepResult> RunOpenLoopAsync(LoadSession session, double rate, CancellationToken cancellationToken)
    {
        var s = session.Settings;
        long[] offsets = ArrivalSchedule.Create(s.Mode, rate, (s.Warmup + s.Duration).TotalSeconds, s.Seed);
        var loop = new OpenLoop(session, offsets, Nanoseconds(s.Warmup), cancellationToken);
        await loop.RunAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return loop.Summarize(rate);
    }

    private static async Task<StepResult> RunClosedLoopAsync(LoadSession session, int workers, CancellationToken cancellationToken)
    {
        var s = session.Settings;
        long windowStart = PreciseSleep.MonotonicNanoseconds() + Nanoseconds(s.Warmup);
        long windowEnd = windowStart + Nanoseconds(s.Duration);
        var tasks = new Task<List<Sample>>[workers];
        for (int w = 0; w < workers; w++)
        {
            int worker = w;
            tasks[w] = Task.Run(() => WorkAsync(session, worker, workers, windowStart, windowEnd, cancellationToken), cancellationToken);
        }

        var lists = await Task.WhenAll(tasks).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var samples = lists.SelectMany(l => l).ToArray();
        return Summarize(s, workers, samples, windowStart, lateSends: 0, maxLagNs: 0);
    }

    private static async Task<List<Sample>> WorkAsync(LoadSession session, int worker, int workers, long windowStart, long windowEnd, CancellationToken cancellationToken)
    {
        var samples = new List<Sample>();
        for (long sequence = worker; !cancellationToken.IsCancellationRequested; sequence += workers)
        {
            long sent = PreciseSleep.MonotonicNanoseconds();
            if (sent >= windowEnd)
            {
                break;
            }

            var status = await session.SendAsync(sequence, cancellationToken).ConfigureAwait(false);
            long done = PreciseSleep.MonotonicNanoseconds();
            if (sent >= windowStart)
            {
                samples.Add(new Sample(done - sent, done, status));
            }
        }

        return samples;
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

    /// <summary>One open-loop step: the pacing thread and the bookkeeping of requests in flight.
    /// Each request's slot in the arrays is written once, by its own completion; the arrays are read
    /// after the last completion, which the interlocked count orders after every write.</summary>
    private sealed class OpenLoop
    {
        private readonly LoadSession _session;
        private readonly long[] _offsets;
        private readonly long _warmupNs;
        private readonly CancellationToken _cancellationToken;
        private readonly long[] _ends;
        private readonly StatusCode[] _statuses;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _start;
        private int _outstanding = 1; // the pacer's own hold, released when it has sent everything
        private int _sent;
        private long _lateSends;
        private long _maxLagNs;
        private Exception? _failure;

        public OpenLoop(LoadSession session, long[] offsets, long warmupNs, CancellationToken cancellationToken)
        {
            _session = session;
            _offsets = offsets;
            _warmupNs = warmupNs;
            _cancellationToken = cancellationToken;
            _ends = new long[offsets.Length];
            _statuses = new StatusCode[offsets.Length];
        }

        public async Task RunAsync()
        {
            _start = PreciseSleep.MonotonicNanoseconds();
            var pacer = new Thread(Pace) { IsBackground = true, Name = "bench-pacer" };
            pacer.Start();
            await _done.Task.ConfigureAwait(false);
            if (_failure is not null)
            {
                throw new InvalidOperationException("the pacing thread failed", _failure);
            }
        }

        private void Pace()
        {
            try
            {
                using var wake = new WaitSignal();
                using var registration = _cancellationToken.Register(static w => ((WaitSignal)w!).Set(), wake);
                long lateNs = (long)(LateSendThreshold.TotalMilliseconds * 1e6);
                for (int i = 0; i < _offsets.Length; i++)
                {
                    long due = _start + _offsets[i];
                    long now = PreciseSleep.MonotonicNanoseconds();
                    while (now < due && !_cancellationToken.IsCancellationRequested)
                    {
                        wake.WaitNanoseconds(due - now);
                        now = PreciseSleep.MonotonicNanoseconds();
                    }

                    if (_cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }

                    long lag = now - due;
                    if (_offsets[i] >= _warmupNs)
                    {
                        if (lag > lateNs)
                        {
                            _lateSends++;
                        }

                        _maxLagNs = Math.Max(_maxLagNs, lag);
                    }

                    _sent = i + 1;
                    Interlocked.Increment(ref _outstanding);
                    _ = TrackAsync(i);
                }
            }
#pragma warning disable CA1031 // Handed to the awaiting step, which rethrows it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _failure = e;
            }
            finally
            {
                Release();
            }
        }

        private async Task TrackAsync(int i)
        {
            var status = await _session.SendAsync(i, _cancellationToken).ConfigureAwait(false);
            _ends[i] = PreciseSleep.MonotonicNanoseconds();
            _statuses[i] = status;
            Release();
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _outstanding) == 0)
            {
                _done.TrySetResult();
            }
        }

        public StepResult Summarize(double rate)
        {
            int first = Array.BinarySearch(_offsets, 0, _sent, _warmupNs);
            first = first >= 0 ? first : ~first;
            // Equal offsets are possible in theory; measure from the first of them.
            while (first > 0 && _offsets[first - 1] >= _warmupNs)
            {
                first--;
            }

            var samples = new Sample[_sent - first];
            for (int i = first; i < _sent; i++)
            {
                samples[i - first] = new Sample(_ends[i] - (_start + _offsets[i]), _ends[i], _statuses[i]);
            }

            return LoadRunner.Summarize(_session.Settings, rate, samples, _start + _warmupNs, _lateSends, _maxLagNs);
        }
    }
}
