using DataPlane.Interop.Timing;

namespace DataPlane.Bench.Agent;

/// <summary>The measured requests of one phase (agent or direct) and how well the client kept to its schedule.</summary>
/// <param name="Samples">Measured requests, in sequence order.</param>
/// <param name="WindowStartNs">When the measurement started (the end of the warm-up).</param>
/// <param name="Duration">The measured duration asked for.</param>
/// <param name="LateSends">Open-loop measured sends that left more than <see cref="AgentLoadRunner.LateSendThreshold"/> behind schedule.</param>
/// <param name="MaxSendLagNs">Largest delay of a measured send behind its schedule.</param>
public sealed record PhaseResult(IReadOnlyList<RequestSample> Samples, long WindowStartNs, TimeSpan Duration, long LateSends, long MaxSendLagNs);

/// <summary>Runs one phase of load.
/// <para>Open loop: Poisson arrival times for warm-up plus duration are computed first (the same seed
/// gives the same schedule in every phase); a dedicated thread sleeps until each send time with
/// sub-millisecond precision (ppoll on an eventfd, no spinning) and starts the request without
/// waiting for earlier ones. A request's latencies count from its scheduled time, so a client that
/// falls behind shows the delay instead of hiding it (no coordinated omission); sends more than 1 ms
/// behind are counted as late. Requests scheduled in the warm-up are sent, not measured.</para>
/// <para>Closed loop: N workers each send, read the answer to its end and send again; latencies count
/// from the actual send; requests started in the warm-up are not measured and none starts after the
/// end of the measurement.</para>
/// <para>Every request is followed to its end (at worst its timeout) before the phase returns.</para></summary>
public static class AgentLoadRunner
{
    /// <summary>An open-loop send that leaves later than this after its scheduled time counts as late.</summary>
    public static readonly TimeSpan LateSendThreshold = TimeSpan.FromMilliseconds(1);

    /// <summary>Offsets (ns from the phase start, ascending) of Poisson arrivals at <paramref name="rate"/>
    /// per second in [0, <paramref name="seconds"/>): exponential gaps, the first one gap after the start.</summary>
    public static long[] PoissonSchedule(double rate, double seconds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfNegative(seconds);
        long endNs = (long)(seconds * 1e9);
        var offsets = new List<long>((int)Math.Min(int.MaxValue / 2, (rate * seconds * 1.1) + 16));
        var random = new Random(seed);
        double t = 0;
        while (true)
        {
            // 1 - U lies in (0, 1], so the logarithm is finite.
            t += -Math.Log(1.0 - random.NextDouble()) / rate;
            long ns = (long)(t * 1e9);
            if (ns >= endNs)
            {
                break;
            }

            offsets.Add(ns);
        }

        return [.. offsets];
    }

    /// <summary>Runs a phase of <paramref name="settings"/>' load through <paramref name="sender"/>.
    /// <paramref name="measurementStarted"/> is called (on a pool thread) when the warm-up ends.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<PhaseResult> RunAsync(AgentBenchSettings settings, ChatRequestSender sender, Func<Task>? measurementStarted,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sender);
        long warmupNs = Nanoseconds(settings.Warmup);
        long start = PreciseSleep.MonotonicNanoseconds();
        var hook = MeasurementHookAsync(measurementStarted, start + warmupNs, cancellationToken);
        PhaseResult result;
        if (settings.OpenLoop)
        {
            long[] offsets = PoissonSchedule(settings.Rate, (settings.Warmup + settings.Duration).TotalSeconds, settings.Seed);
            var loop = new OpenLoop(sender, offsets, start, warmupNs, cancellationToken);
            await loop.RunAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            result = loop.Result(settings.Duration);
        }
        else
        {
            result = await RunClosedLoopAsync(settings, sender, start + warmupNs, cancellationToken).ConfigureAwait(false);
        }

        await hook.ConfigureAwait(false);
        return result;
    }

    private static async Task MeasurementHookAsync(Func<Task>? hook, long atNs, CancellationToken cancellationToken)
    {
        if (hook is null)
        {
            return;
        }

        long wait = atNs - PreciseSleep.MonotonicNanoseconds();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromTicks(wait / 100), cancellationToken).ConfigureAwait(false);
        }

        await hook().ConfigureAwait(false);
    }

    private static async Task<PhaseResult> RunClosedLoopAsync(AgentBenchSettings s, ChatRequestSender sender, long windowStart, CancellationToken cancellationToken)
    {
        long windowEnd = windowStart + Nanoseconds(s.Duration);
        long sequence = -1;
        var tasks = new Task<List<RequestSample>>[s.Concurrency];
        for (int w = 0; w < tasks.Length; w++)
        {
            tasks[w] = Task.Run(async () =>
            {
                var samples = new List<RequestSample>();
                while (!cancellationToken.IsCancellationRequested)
                {
                    long sent = PreciseSleep.MonotonicNanoseconds();
                    if (sent >= windowEnd)
                    {
                        break;
                    }

                    long index = Interlocked.Increment(ref sequence);
                    var sample = await SendAsync(sender, index, sent, cancellationToken).ConfigureAwait(false);
                    if (sent >= windowStart)
                    {
                        samples.Add(sample);
                    }
                }

                return samples;
            }, cancellationToken);
        }

        var lists = await Task.WhenAll(tasks).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var all = lists.SelectMany(l => l).OrderBy(x => x.Index).ToArray();
        return new PhaseResult(all, windowStart, s.Duration, 0, 0);
    }

    private static long Nanoseconds(TimeSpan t) => t.Ticks * 100;

    /// <summary>Sends one request; a failure the sender did not foresee becomes a sample of kind "client"
    /// instead of ending the run.</summary>
    private static async Task<RequestSample> SendAsync(ChatRequestSender sender, long index, long scheduledNs, CancellationToken cancellationToken)
    {
        try
        {
            return await sender.SendAsync(index, scheduledNs, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new RequestSample(index, scheduledNs, PreciseSleep.MonotonicNanoseconds(), 0, "client", e.Message, null, "none", "unknown", false, 0, "");
        }
    }

    /// <summary>One open-loop phase: the pacing thread and the requests in flight. Each request's slot
    /// is written once, by its own completion; slots are read after the last completion, which the
    /// interlocked count orders after every write.</summary>
    private sealed class OpenLoop
    {
        private readonly ChatRequestSender _sender;
        private readonly long[] _offsets;
        private readonly long _start;
        private readonly long _warmupNs;
        private readonly CancellationToken _cancellationToken;
        private readonly RequestSample?[] _samples;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _outstanding = 1; // the pacer's own hold, released when it has sent everything
        private long _lateSends;
        private long _maxLagNs;
        private Exception? _failure;

        public OpenLoop(ChatRequestSender sender, long[] offsets, long start, long warmupNs, CancellationToken cancellationToken)
        {
            _sender = sender;
            _offsets = offsets;
            _start = start;
            _warmupNs = warmupNs;
            _cancellationToken = cancellationToken;
            _samples = new RequestSample?[offsets.Length];
        }

        public async Task RunAsync()
        {
            var pacer = new Thread(Pace) { IsBackground = true, Name = "agent-bench-pacer" };
            pacer.Start();
            await _done.Task.ConfigureAwait(false);
            if (_failure is not null)
            {
                throw new InvalidOperationException("the pacing thread failed", _failure);
            }
        }

        public PhaseResult Result(TimeSpan duration)
        {
            var measured = new List<RequestSample>();
            for (int i = 0; i < _offsets.Length; i++)
            {
                if (_offsets[i] >= _warmupNs && _samples[i] is { } sample)
                {
                    measured.Add(sample);
                }
            }

            return new PhaseResult(measured, _start + _warmupNs, duration, _lateSends, _maxLagNs);
        }

        private void Pace()
        {
            try
            {
                using var wake = new WaitSignal();
                using var registration = _cancellationToken.Register(static w => ((WaitSignal)w!).Set(), wake);
                long lateNs = Nanoseconds(LateSendThreshold);
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

                    Interlocked.Increment(ref _outstanding);
                    _ = TrackAsync(i, due);
                }
            }
#pragma warning disable CA1031 // Handed to the awaiting phase, which rethrows it.
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

        private async Task TrackAsync(int i, long due)
        {
            try
            {
                _samples[i] = await SendAsync(_sender, i, due, _cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
            {
                // The run was cancelled; the phase throws.
            }
            finally
            {
                Release();
            }
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _outstanding) == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
