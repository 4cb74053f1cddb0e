using DataPlane.Batching.Estimation;

namespace DataPlane.Batching.Policies;

/// <summary>Policy <c>adaptive</c>: holds a batch open only while one more request is expected to
/// pay for the wait, and never past the earliest deadline's slack.
/// <para>With arrival rate λ and upstream latency L(n) = a + b·n: waiting for one more request
/// delays the n queued rows by the gap to the next arrival (1/λ) plus the b it adds to the batch,
/// a cost of n·(1/λ + b). Not waiting makes that next request wait for the next slot to free,
/// T_free: the whole batch about to be sent (L(n)) when it takes the last slot, or the earliest
/// in-flight batch's remaining time if sooner, or nothing when another slot is free. Waiting
/// pays while (n+1)/λ + n·b &lt; T_free, which gives the target size
/// n* = min(a·λ − 1, (λ·E − 1)/(1 + λ·b)) with E the remaining time of the earliest in-flight batch.</para>
/// <para>So light load (a·λ ≤ 1: fewer than one arrival per batch latency) sends at once, heavy
/// load fills batches while slots are busy and sends them the moment a slot frees, and the space
/// between gets a window of (n* − n)/λ, clamped to [min, max] window and to the slack of the
/// earliest deadline (deadline − L(n)).</para></summary>
public sealed class AdaptivePolicy : IBatchPolicy
{
    private readonly ArrivalRate _rate;
    private readonly LatencyModel _latency;
    private readonly long _minWindowNs;
    private readonly long _maxWindowNs;

    public AdaptivePolicy(ArrivalRate rate, LatencyModel latency, TimeSpan minWindow, TimeSpan maxWindow)
    {
        _rate = rate;
        _latency = latency;
        _minWindowNs = (long)(minWindow.TotalMilliseconds * 1_000_000);
        _maxWindowNs = Math.Max(_minWindowNs, (long)(maxWindow.TotalMilliseconds * 1_000_000));
    }

    /// <summary>The batch size worth waiting for at rate <paramref name="lambda"/> (rows/ns); see the class remarks.</summary>
    public double TargetRows(in BatchContext c, double lambda)
    {
        if (c.FreeSlots > 1 || lambda <= 0)
        {
            return 0;
        }

        double target = (_latency.InterceptNs * lambda) - 1;
        if (c.EarliestInflightEnd != long.MaxValue)
        {
            double e = Math.Max(0, c.EarliestInflightEnd - c.Now);
            target = Math.Min(target, ((lambda * e) - 1) / (1 + (lambda * _latency.SlopeNs)));
        }

        return Math.Min(target, c.MaxRows);
    }

    public long PlanDispatch(in BatchContext c)
    {
        long now = c.Now;
        long n = Math.Min(c.QueuedRows, c.MaxRows);
        if (n >= c.MaxRows)
        {
            return now;
        }

        long slackEnd = long.MaxValue;
        if (c.EarliestDeadline != long.MaxValue)
        {
            slackEnd = c.EarliestDeadline - (long)_latency.PredictNs(n);
            if (slackEnd <= now)
            {
                return now;
            }
        }

        double lambda = _rate.PerNanosecond(now);
        double target = TargetRows(c, lambda);
        if (n >= target)
        {
            return now;
        }

        if (c.WindowEnd != long.MaxValue)
        {
            return Math.Min(c.WindowEnd, slackEnd);
        }

        double wait = (target - n) / lambda;
        if (wait < _minWindowNs / 2.0)
        {
            return now;
        }

        long window = Math.Clamp((long)wait, _minWindowNs, _maxWindowNs);
        long end = Math.Min(Math.Min(now + window, c.EligibleSince + _maxWindowNs), slackEnd);
        return end <= now ? now : end;
    }
}
