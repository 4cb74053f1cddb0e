using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Systemd;

/// <summary>A liveness check: completes with true when the loops that matter made progress within
/// <c>timeout</c>. It is awaited for at most <c>timeout</c>; a check that hangs counts as failed.</summary>
public delegate Task<bool> LivenessCheck(TimeSpan timeout, CancellationToken cancellationToken);

/// <summary>The systemd watchdog keep-alive: every half of <c>WatchdogSec=</c> it runs a liveness check and sends
/// <c>WATCHDOG=1</c> only when the check passes. A wedged loop therefore stops the pings and systemd restarts the
/// service, where a bare timer would keep pinging for a dead data plane (sd_watchdog_enabled(3): "every half of
/// the time"). The check gets a quarter of <c>WatchdogSec=</c>, so a slow answer still leaves time to ping.</summary>
public sealed partial class SystemdWatchdog
{
    private readonly SystemdNotifier _notifier;
    private readonly LivenessCheck _liveness;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _pings;
    private long _misses;

    /// <summary>A watchdog for <paramref name="notifier"/> gated on <paramref name="liveness"/>.</summary>
    public SystemdWatchdog(SystemdNotifier notifier, LivenessCheck liveness, ILogger logger, TimeProvider? time = null)
    {
        _notifier = notifier;
        _liveness = liveness;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How often the check runs and a keep-alive may go out: half the watchdog timeout; null when the
    /// watchdog is off (no WATCHDOG_USEC, or WATCHDOG_PID names another process).</summary>
    public TimeSpan? Interval => _notifier.WatchdogTimeout / 2;

    /// <summary>Keep-alives sent so far.</summary>
    public long Pings => Interlocked.Read(ref _pings);

    /// <summary>Checks that failed (no keep-alive sent) so far.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Runs until cancelled; returns at once when the watchdog is off.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interval is not TimeSpan interval)
        {
            return;
        }

        Log.Enabled(_logger, _notifier.WatchdogTimeout!.Value.TotalSeconds, interval.TotalMilliseconds);
        using var timer = new PeriodicTimer(interval, _time);
        bool wasAlive = true;
        do
        {
            bool alive = await CheckAsync(interval / 2, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (alive)
            {
                _notifier.Watchdog();
                Interlocked.Increment(ref _pings);
                if (!wasAlive)
                {
                    Log.Resumed(_logger);
                }
            }
            else
            {
                Interlocked.Increment(ref _misses);
                if (wasAlive)
                {
                    Log.Withheld(_logger, _notifier.WatchdogTimeout!.Value.TotalSeconds);
                }
            }

            wasAlive = alive;
        }
        while (await NextAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private async Task<bool> CheckAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        try
        {
            return await _liveness(bound, cancellationToken).WaitAsync(bound, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e)
        {
            // A check that throws is a failed check, never a crash of the keep-alive loop.
            Log.CheckFailed(_logger, e);
            return false;
        }
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2000, Level = LogLevel.Information,
            Message = "systemd watchdog on: timeout {TimeoutSeconds} s, keep-alive every {IntervalMs} ms while the liveness check passes")]
        public static partial void Enabled(ILogger logger, double timeoutSeconds, double intervalMs);

        [LoggerMessage(EventId = 2001, Level = LogLevel.Error,
            Message = "Liveness check failed: withholding the systemd watchdog keep-alive; systemd acts after {TimeoutSeconds} s without one")]
        public static partial void Withheld(ILogger logger, double timeoutSeconds);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Liveness check passes again: systemd watchdog keep-alive resumed")]
        public static partial void Resumed(ILogger logger);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Liveness check threw")]
        public static partial void CheckFailed(ILogger logger, Exception exception);
    }
}
