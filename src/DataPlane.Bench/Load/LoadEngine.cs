namespace DataPlane.Bench.Load;

/// <summary>The load loop behind <c>dataplane bench</c> and <c>dataplane bench-agent</c>: when requests are sent,
/// how many are in flight, what is measured. What a request is belongs to an <see cref="ILoadSender{TResult}"/>.
/// <para>Open loop (<see cref="LoadMode.Poisson"/>, <see cref="LoadMode.Constant"/>): the arrival schedule of warm-up
/// plus duration is computed first (<see cref="ArrivalSchedule"/>); a dedicated thread sleeps until each send time
/// and starts the request without waiting for earlier ones to finish, so the number in flight is bounded by the
/// schedule alone. A request's latency runs from its scheduled time, so when the client falls behind the delay is
/// counted, not hidden (no coordinated omission); such sends are counted as late. The synchronous part of a send
/// (serialising the request) runs on the pacing thread, so a request too large to serialise within the gaps shows
/// up as late sends. Requests scheduled in the warm-up are sent but not measured.</para>
/// <para>Closed loop: N workers each send, await the outcome and send again, so exactly N are in flight; requests
/// are numbered in send order across the workers; those started in the warm-up are not measured, and none starts
/// after the end of the duration.</para>
/// <para>Every request is followed to its end before a run returns. Cancellation stops the sending, waits for the
/// requests in flight and throws <see cref="OperationCanceledException"/>.</para></summary>
public static class LoadEngine
{
    /// <summary>An open-loop send that leaves later than this after its scheduled time counts as late.</summary>
    public static readonly TimeSpan LateSendThreshold = TimeSpan.FromMilliseconds(1);

    /// <summary>Runs <paramref name="plan"/> through <paramref name="sender"/>. <paramref name="time"/> is
    /// <see cref="TimeProvider.System"/> for a real run (CLOCK_MONOTONIC, precise sleeps) or a test clock.
    /// <paramref name="measurementStarted"/>, when given, is called (on a pool thread) when the warm-up ends; the run
    /// returns after it has completed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No load offered, a closed loop with a fractional number of
    /// workers, or a negative warm-up or duration.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">The sender threw (the exception is inside).</exception>
    public static async Task<LoadResult<TResult>> RunAsync<TResult>(LoadPlan plan, ILoadSender<TResult> sender, TimeProvider time,
        Func<Task>? measurementStarted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(plan.Offered);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.Warmup, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.Duration, TimeSpan.Zero);
        bool open = plan.Mode.IsOpenLoop();
        if (!open && (plan.Offered != Math.Floor(plan.Offered) || plan.Offered > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(plan), plan.Offered, "a closed loop needs a whole number of workers");
        }

        var clock = LoadClock.For(time);
        long warmupNs = Nanoseconds(plan.Warmup);
        long[]? offsets = open ? ArrivalSchedule.Create(plan.Mode, plan.Offered, (plan.Warmup + plan.Duration).TotalSeconds, plan.Seed) : null;
        long start = clock.NowNanoseconds();
        var hook = MeasurementHookAsync(measurementStarted, clock, time, start + warmupNs, cancellationToken);
        LoadResult<TResult> result;
        if (offsets is not null)
        {
            var loop = new OpenLoop<TResult>(sender, clock, offsets, start, warmupNs, cancellationToken);
            await loop.RunAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            loop.ThrowIfFailed();
            result = loop.Result();
        }
        else
        {
            var loop = new ClosedLoop<TResult>(sender, clock, start + warmupNs, start + warmupNs + Nanoseconds(plan.Duration), cancellationToken);
            result = await loop.RunAsync((int)plan.Offered).ConfigureAwait(false);
        }

        await hook.ConfigureAwait(false);
        return result;
    }

    private static async Task MeasurementHookAsync(Func<Task>? hook, LoadClock clock, TimeProvider time, long atNs, CancellationToken cancellationToken)
    {
        if (hook is null)
        {
            return;
        }

        long wait = atNs - clock.NowNanoseconds();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromTicks(wait / 100), time, cancellationToken).ConfigureAwait(false);
        }

        await hook().ConfigureAwait(false);
    }

    private static long Nanoseconds(TimeSpan t) => t.Ticks * 100;

    /// <summary>One open-loop run: the pacing thread and the bookkeeping of requests in flight. Each request's
    /// slots are written once, by its own completion; they are read after the last completion, which the
    /// interlocked count orders after every write.</summary>
    private sealed class OpenLoop<TResult>
    {
        private readonly ILoadSender<TResult> _sender;
        private readonly LoadClock _clock;
        private readonly long[] _offsets;
        private readonly long _start;
        private readonly long _warmupNs;
        private readonly CancellationToken _cancellationToken;
        private readonly long[] _ends;
        private readonly TResult[] _results;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _outstanding = 1; // the pacer's own hold, released when it has sent everything
        private int _sent;
        private long _lateSends;
        private long _maxLagNs;
        private Exception? _pacerFailure;
        private Exception? _sendFailure;

        public OpenLoop(ILoadSender<TResult> sender, LoadClock clock, long[] offsets, long start, long warmupNs, CancellationToken cancellationToken)
        {
            _sender = sender;
            _clock = clock;
            _offsets = offsets;
            _start = start;
            _warmupNs = warmupNs;
            _cancellationToken = cancellationToken;
            _ends = new long[offsets.Length];
            _results = new TResult[offsets.Length];
        }

        public async Task RunAsync()
        {
            var pacer = new Thread(Pace) { IsBackground = true, Name = "bench-pacer" };
            pacer.Start();
            await _done.Task.ConfigureAwait(false);
            if (_pacerFailure is not null)
            {
                throw new InvalidOperationException("the pacing thread failed", _pacerFailure);
            }
        }

        public void ThrowIfFailed()
        {
            if (_sendFailure is { } e)
            {
                throw new InvalidOperationException($"a request's sender failed: {e.Message}", e);
            }
        }

        public LoadResult<TResult> Result()
        {
            int first = Array.BinarySearch(_offsets, 0, _sent, _warmupNs);
            first = first >= 0 ? first : ~first;
            // Equal offsets are possible in theory; measure from the first of them.
            while (first > 0 && _offsets[first - 1] >= _warmupNs)
            {
                first--;
            }

            var samples = new LoadSample<TResult>[_sent - first];
            for (int i = first; i < _sent; i++)
            {
                samples[i - first] = new LoadSample<TResult>(i, _start + _offsets[i], _ends[i], _results[i]);
            }

            return new LoadResult<TResult>(samples, _start + _warmupNs, _lateSends, _maxLagNs);
        }

        private void Pace()
        {
            try
            {
                using var waiter = _clock.CreateWaiter();
                using var registration = _cancellationToken.Register(static w => ((LoadClock.Waiter)w!).Wake(), waiter);
                long lateNs = Nanoseconds(LateSendThreshold);
                for (int i = 0; i < _offsets.Length; i++)
                {
                    long due = _start + _offsets[i];
                    long now = _clock.NowNanoseconds();
                    while (now < due && !_cancellationToken.IsCancellationRequested)
                    {
                        waiter.Wait(due, now);
                        now = _clock.NowNanoseconds();
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
                    _ = TrackAsync(i, due);
                }
            }
#pragma warning disable CA1031 // Handed to the awaiting run, which rethrows it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _pacerFailure = e;
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
                var result = await _sender.SendAsync(i, due, _cancellationToken).ConfigureAwait(false);
                _ends[i] = _clock.NowNanoseconds();
                _results[i] = result;
            }
            catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
            {
                // The run was cancelled; it throws.
            }
#pragma warning disable CA1031 // Handed to the awaiting run, which rethrows it once every request has ended.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _sendFailure, e, null);
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

    /// <summary>One closed-loop run: N workers sharing one request counter.</summary>
    private sealed class ClosedLoop<TResult>(ILoadSender<TResult> sender, LoadClock clock, long windowStart, long windowEnd,
        CancellationToken cancellationToken)
    {
        private long _sequence = -1;

        public async Task<LoadResult<TResult>> RunAsync(int workers)
        {
            var tasks = new Task<List<LoadSample<TResult>>>[workers];
            for (int w = 0; w < workers; w++)
            {
                tasks[w] = Task.Run(WorkAsync, cancellationToken);
            }

            List<LoadSample<TResult>>[] lists;
            try
            {
                lists = await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new InvalidOperationException($"a request's sender failed: {e.Message}", e);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var samples = lists.SelectMany(l => l).ToArray();
            samples.AsSpan().Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            return new LoadResult<TResult>(samples, windowStart, 0, 0);
        }

        private async Task<List<LoadSample<TResult>>> WorkAsync()
        {
            var samples = new List<LoadSample<TResult>>();
            while (!cancellationToken.IsCancellationRequested)
            {
                long sent = clock.NowNanoseconds();
                if (sent >= windowEnd)
                {
                    break;
                }

                long sequence = Interlocked.Increment(ref _sequence);
                var result = await sender.SendAsync(sequence, sent, cancellationToken).ConfigureAwait(false);
                long done = clock.NowNanoseconds();
                if (sent >= windowStart)
                {
                    samples.Add(new LoadSample<TResult>(sequence, sent, done, result));
                }
            }

            return samples;
        }
    }
}
