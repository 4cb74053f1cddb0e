using DataPlane.Edge.Gpu;
using Grpc.Core;

namespace DataPlane.Edge.Tests.Gpu;

/// <summary>The GPU host balancer alone, on a hand-moved clock: power of two choices, outstanding requests, ejection
/// after failures and latency outliers, growing ejection times, return after a probe, and the last host.</summary>
public class HostBalancerTests
{
    private readonly ManualTimeProvider _clock = new();

    private HostBalancer Balancer(int hosts, out GpuHost[] all, BalancingOptions? options = null)
    {
        var balancer = new HostBalancer(options ?? new BalancingOptions(), _clock, new Random(7));
        all = Enumerable.Range(1, hosts).Select(i => new GpuHost($"10.0.0.{i}:8001")).ToArray();
        balancer.SetHosts(all);
        return balancer;
    }

    private static Dictionary<GpuHost, int> PickAndRelease(HostBalancer balancer, int count)
    {
        var picks = balancer.Hosts.ToDictionary(h => h, _ => 0);
        for (int i = 0; i < count; i++)
        {
            var h = balancer.Pick()!;
            picks[h]++;
            balancer.Release(h);
        }

        return picks;
    }

    private static void Samples(HostBalancer balancer, GpuHost host, double seconds, int count)
    {
        for (int i = 0; i < count; i++)
        {
            balancer.OnFirstResponse(host, TimeSpan.FromSeconds(seconds));
        }
    }

    [Fact]
    public void Power_of_two_choices_prefers_the_host_reporting_the_shorter_wait()
    {
        var balancer = Balancer(2, out var h);
        balancer.OnReport(h[0], 0.5);
        balancer.OnReport(h[1], 0.0);
        var picks = PickAndRelease(balancer, 200);
        Assert.Equal(200, picks[h[1]]);
    }

    [Fact]
    public void A_stale_report_no_longer_counts()
    {
        var balancer = Balancer(2, out var h);
        balancer.OnReport(h[0], 0.5);
        _clock.Advance(TimeSpan.FromSeconds(6));
        var picks = PickAndRelease(balancer, 400);
        Assert.InRange(picks[h[0]], 120, 280);
    }

    [Fact]
    public void The_slowest_of_three_hosts_is_never_picked()
    {
        var balancer = Balancer(3, out var h);
        Samples(balancer, h[0], 0.05, 3);
        Samples(balancer, h[1], 0.05, 3);
        Samples(balancer, h[2], 0.25, 3);
        var picks = PickAndRelease(balancer, 300);
        Assert.Equal(0, picks[h[2]]);
        Assert.InRange(picks[h[0]], 100, 200);
    }

    [Fact]
    public void Outstanding_requests_count_towards_the_choice()
    {
        var balancer = Balancer(2, out var h);
        Samples(balancer, h[0], 0.1, 1);
        Samples(balancer, h[1], 0.1, 1);
        for (int i = 0; i < 10; i++)
        {
            _ = balancer.Pick();
        }

        Assert.Equal(5, h[0].Outstanding);
        Assert.Equal(5, h[1].Outstanding);

        // Three of host 0's requests finish: the next three go there.
        for (int i = 0; i < 3; i++)
        {
            balancer.Release(h[0]);
        }

        Assert.All(Enumerable.Range(0, 3).Select(_ => balancer.Pick()), p => Assert.Same(h[0], p));
    }

    [Fact]
    public void Streams_past_their_first_token_do_not_count_against_the_host()
    {
        var balancer = Balancer(2, out var h);
        Samples(balancer, h[0], 0.1, 1);
        Samples(balancer, h[1], 0.1, 1);
        var streaming = Enumerable.Range(0, 4).Select(_ => balancer.Pick()!).ToList();
        Assert.Equal(2, h[0].Outstanding);
        foreach (var s in streaming.Where(s => s == h[0]))
        {
            balancer.OnFirstResponse(s, TimeSpan.FromSeconds(0.1));
        }

        // Host 0 still streams two answers but waits on no first token; host 1 has two waiting: host 0 gets the next two.
        Assert.Equal(2, h[0].Outstanding);
        Assert.Equal(0, h[0].AwaitingFirstResponse);
        Assert.Same(h[0], balancer.Pick());
        Assert.Same(h[0], balancer.Pick());
    }

    [Fact]
    public void A_host_is_ejected_after_consecutive_failures_and_returns_after_a_probe()
    {
        var balancer = Balancer(3, out var h);
        var ejected = new List<(string, string)>();
        balancer.HostEjected = (host, reason) => ejected.Add((host.Name, reason));
        for (int i = 0; i < 4; i++)
        {
            balancer.OnFailure(h[0], StatusCode.Unavailable);
        }

        Assert.False(h[0].IsEjected);
        balancer.OnFailure(h[0], StatusCode.Unavailable);
        Assert.True(h[0].IsEjected);
        Assert.Equal([("10.0.0.1:8001", "failures")], ejected);
        Assert.Equal(0, PickAndRelease(balancer, 100)[h[0]]);

        // Not due before the base ejection time (5 s); then probed once, and back when it answers.
        _clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.DoesNotContain(h[0], balancer.DueForProbe());
        _clock.Advance(TimeSpan.FromSeconds(0.2));
        var due = balancer.DueForProbe();
        Assert.Contains(h[0], due);
        Assert.DoesNotContain(h[0], balancer.DueForProbe());
        balancer.OnProbe(h[0], ready: true, waitSeconds: 0);
        Assert.False(h[0].IsEjected);
        Assert.True(PickAndRelease(balancer, 300)[h[0]] > 0);
    }

    [Fact]
    public void Each_ejection_lasts_longer_and_a_failed_probe_ejects_again()
    {
        var balancer = Balancer(3, out var h);
        for (int i = 0; i < 5; i++)
        {
            balancer.OnFailure(h[0], StatusCode.Unavailable);
        }

        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Contains(h[0], balancer.DueForProbe());
        balancer.OnProbe(h[0], ready: false, waitSeconds: null);
        Assert.True(h[0].IsEjected);

        // Second ejection: 10 s.
        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.DoesNotContain(h[0], balancer.DueForProbe());
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Contains(h[0], balancer.DueForProbe());
        balancer.OnProbe(h[0], ready: true, waitSeconds: null);
        Assert.False(h[0].IsEjected);
    }

    [Fact]
    public void Answers_about_the_request_are_not_host_failures()
    {
        var balancer = Balancer(3, out var h);
        foreach (var code in new[] { StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.ResourceExhausted, StatusCode.Cancelled })
        {
            for (int i = 0; i < 10; i++)
            {
                balancer.OnFailure(h[0], code);
            }
        }

        Assert.False(h[0].IsEjected);
    }

    [Fact]
    public void The_last_host_is_never_ejected()
    {
        var balancer = Balancer(1, out var h);
        for (int i = 0; i < 100; i++)
        {
            balancer.OnFailure(h[0], StatusCode.Unavailable);
        }

        Assert.False(h[0].IsEjected);
        Assert.Same(h[0], balancer.Pick());
    }

    [Fact]
    public void At_most_half_the_hosts_are_ejected()
    {
        var balancer = Balancer(2, out var h);
        for (int i = 0; i < 5; i++)
        {
            balancer.OnFailure(h[0], StatusCode.Unavailable);
            balancer.OnFailure(h[1], StatusCode.Unavailable);
        }

        Assert.True(h[0].IsEjected);
        Assert.False(h[1].IsEjected);
        Assert.Equal(50, PickAndRelease(balancer, 50)[h[1]]);
    }

    [Fact]
    public void A_latency_outlier_is_ejected()
    {
        var balancer = Balancer(3, out var h);
        string? reason = null;
        balancer.HostEjected = (_, r) => reason = r;
        Samples(balancer, h[0], 0.05, 8);
        Samples(balancer, h[1], 0.06, 8);
        Samples(balancer, h[2], 0.12, 8);
        Assert.False(h[2].IsEjected); // 2.2× the others: not an outlier at factor 3
        Samples(balancer, h[2], 0.25, 8);
        Assert.True(h[2].IsEjected);
        Assert.Equal("latency", reason);
    }

    [Fact]
    public void Latency_samples_outside_the_window_do_not_count()
    {
        var balancer = Balancer(3, out var h);
        Samples(balancer, h[0], 0.05, 8);
        Samples(balancer, h[1], 0.05, 8);
        _clock.Advance(TimeSpan.FromSeconds(11));
        Samples(balancer, h[2], 0.5, 8);
        Assert.False(h[2].IsEjected); // no other host has samples in the window to compare with
    }

    [Fact]
    public void A_request_given_up_on_before_its_first_token_counts_as_a_slow_sample()
    {
        var balancer = Balancer(2, out var h);
        Samples(balancer, h[0], 0.05, 2);
        Samples(balancer, h[1], 0.05, 2);
        var picked = balancer.Pick()!;
        balancer.Release(picked, answered: false, waited: TimeSpan.FromSeconds(1));
        Assert.Equal(0.05, picked.LatencyEstimate, 9); // one sample does not move the median of three
        for (int i = 0; i < 2; i++)
        {
            balancer.Release(balancer.Pick() is var p && p == picked ? p! : Swap(balancer, p!, picked), answered: false, waited: TimeSpan.FromSeconds(1));
        }

        Assert.True(picked.LatencyEstimate > 0.2);
        var other = picked == h[0] ? h[1] : h[0];
        Assert.Equal(100, PickAndRelease(balancer, 100)[other]);
    }

    /// <summary>Releases a request picked on <paramref name="other"/> and returns <paramref name="wanted"/> with its
    /// outstanding count raised, as if it had been picked.</summary>
    private static GpuHost Swap(HostBalancer balancer, GpuHost other, GpuHost wanted)
    {
        balancer.Release(other);
        Interlocked.Increment(ref wanted.OutstandingCount);
        Interlocked.Increment(ref wanted.AwaitingFirstCount);
        return wanted;
    }

    [Fact]
    public void A_slow_host_left_alone_is_tried_again_as_its_estimate_fades()
    {
        var balancer = Balancer(2, out var h);
        Samples(balancer, h[0], 0.05, 2);
        Samples(balancer, h[1], 0.5, 1);
        Assert.Equal(0, PickAndRelease(balancer, 50)[h[1]]);
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(PickAndRelease(balancer, 200)[h[1]] > 0);
    }

    [Fact]
    public void Round_robin_takes_turns_and_ignores_latency()
    {
        var balancer = Balancer(3, out var h, new BalancingOptions { Policy = BalancingPolicy.RoundRobin });
        Samples(balancer, h[2], 5, 20);
        Samples(balancer, h[0], 0.05, 20);
        Samples(balancer, h[1], 0.05, 20);
        Assert.False(h[2].IsEjected);
        var picks = PickAndRelease(balancer, 300);
        Assert.All(h, host => Assert.Equal(100, picks[host]));
    }

    [Theory]
    [InlineData("TEXT named_metrics.queue_depth=3, named_metrics.predicted_wait_ms=12.5", 0.0125)]
    [InlineData("TEXT named_metrics.predicted_wait_ms=0", 0.0)]
    [InlineData("JSON {\"named_metrics\":{\"predicted_wait_ms\":3}}", null)]
    [InlineData("TEXT named_metrics.predicted_wait_ms=-4", null)]
    [InlineData("TEXT named_metrics.predicted_wait_ms=NaN", null)]
    [InlineData("TEXT named_metrics.predicted_wait_ms", null)]
    [InlineData("TEXT ,,,=,", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Load_reports_are_read_strictly(string? value, double? seconds)
    {
        var wait = LoadReportText.PredictedWaitSeconds(value);
        if (seconds is { } s)
        {
            Assert.Equal(s, wait!.Value, 9);
        }
        else
        {
            Assert.Null(wait);
        }
    }
}
