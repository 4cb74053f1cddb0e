using DataPlane.Edge.Routing;

namespace DataPlane.Edge.Tests.Routing;

public class CircuitBreakerTests
{
    private readonly ManualTimeProvider _clock = new();

    private CircuitBreaker Breaker(int threshold = 3, double cooldownSeconds = 5) =>
        new("gpu-pool", new CircuitBreakerOptions { FailureThreshold = threshold, Cooldown = TimeSpan.FromSeconds(cooldownSeconds) }, _clock);

    private static void Fail(CircuitBreaker breaker, int times)
    {
        for (int i = 0; i < times; i++)
        {
            Assert.True(breaker.TryAcquire());
            breaker.OnFailure();
        }
    }

    [Fact]
    public void Defaults_are_three_failures_and_five_seconds()
    {
        var options = new CircuitBreakerOptions();
        Assert.Equal(3, options.FailureThreshold);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Cooldown);
        Assert.Equal(CircuitState.Closed, new CircuitBreaker("x").State);
    }

    [Fact]
    public void It_opens_after_the_threshold_of_consecutive_failures()
    {
        var breaker = Breaker();
        Fail(breaker, 2);
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(2, breaker.ConsecutiveFailures);
        Fail(breaker, 1);
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryAcquire());
        Assert.Equal(TimeSpan.FromSeconds(5), breaker.RemainingCooldown);
    }

    [Fact]
    public void A_success_resets_the_failure_count()
    {
        var breaker = Breaker();
        Fail(breaker, 2);
        Assert.True(breaker.TryAcquire());
        breaker.OnSuccess();
        Assert.Equal(0, breaker.ConsecutiveFailures);
        Fail(breaker, 2);
        Assert.Equal(CircuitState.Closed, breaker.State);
    }

    [Fact]
    public void After_the_cooldown_one_trial_is_allowed_and_its_success_closes_the_circuit()
    {
        var breaker = Breaker();
        Fail(breaker, 3);
        _clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(breaker.TryAcquire());
        Assert.Equal(TimeSpan.FromSeconds(0.1), breaker.RemainingCooldown);
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(CircuitState.Open, breaker.State); // until someone asks
        Assert.True(breaker.TryAcquire());
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryAcquire());
        Assert.False(breaker.TryAcquire());
        breaker.OnSuccess();
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.True(breaker.TryAcquire());
        Assert.True(breaker.TryAcquire());
    }

    [Fact]
    public void A_failed_trial_reopens_with_a_fresh_cooldown()
    {
        var breaker = Breaker();
        Fail(breaker, 3);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire());
        _clock.Advance(TimeSpan.FromSeconds(2)); // the trial takes a while
        breaker.OnFailure();
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal(TimeSpan.FromSeconds(5), breaker.RemainingCooldown);
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.False(breaker.TryAcquire());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(breaker.TryAcquire());
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
    }

    [Fact]
    public void An_abandoned_trial_frees_the_slot()
    {
        var breaker = Breaker();
        Fail(breaker, 3);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire());
        Assert.False(breaker.TryAcquire());
        breaker.OnAbandoned();
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquire());
    }

    [Fact]
    public void Outcomes_reported_while_open_change_nothing()
    {
        var breaker = Breaker();
        Fail(breaker, 3);
        breaker.OnSuccess(); // a request that started before the circuit opened
        Assert.Equal(CircuitState.Open, breaker.State);
        _clock.Advance(TimeSpan.FromSeconds(3));
        breaker.OnFailure();
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryAcquire()); // the cooldown was not extended
    }

    [Fact]
    public void Transitions_are_reported_and_counted()
    {
        var breaker = Breaker();
        var seen = new List<CircuitTransition>();
        breaker.StateChanged += seen.Add;
        Fail(breaker, 3);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire());
        breaker.OnFailure();
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(breaker.TryAcquire());
        breaker.OnSuccess();

        Assert.Equal(
        [
            new CircuitTransition(CircuitState.Closed, CircuitState.Open),
            new CircuitTransition(CircuitState.Open, CircuitState.HalfOpen),
            new CircuitTransition(CircuitState.HalfOpen, CircuitState.Open),
            new CircuitTransition(CircuitState.Open, CircuitState.HalfOpen),
            new CircuitTransition(CircuitState.HalfOpen, CircuitState.Closed),
        ], seen);
        Assert.Equal(5, breaker.Transitions);
        Assert.Equal(2, breaker.TimesOpened);
    }

    [Fact]
    public void Exactly_one_of_many_concurrent_callers_gets_the_half_open_trial()
    {
        const int callers = 16;
        var breaker = Breaker(threshold: 1, cooldownSeconds: 1);
        for (int round = 0; round < 50; round++)
        {
            Assert.True(breaker.TryAcquire());
            breaker.OnFailure();
            Assert.Equal(CircuitState.Open, breaker.State);
            _clock.Advance(TimeSpan.FromSeconds(1));

            int granted = 0;
            using var start = new Barrier(callers);
            var threads = Enumerable.Range(0, callers).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 10; i++)
                {
                    if (breaker.TryAcquire())
                    {
                        Interlocked.Increment(ref granted);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.Equal(1, granted);
            Assert.Equal(CircuitState.HalfOpen, breaker.State);
            breaker.OnSuccess();
            Assert.Equal(CircuitState.Closed, breaker.State);
        }
    }

    [Fact]
    public void Concurrent_failures_open_the_circuit_once()
    {
        var breaker = Breaker(threshold: 3);
        int opened = 0;
        breaker.StateChanged += t =>
        {
            if (t.To == CircuitState.Open)
            {
                Interlocked.Increment(ref opened);
            }
        };
        Parallel.For(0, 64, _ => breaker.OnFailure());
        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.Equal(1, opened);
        Assert.Equal(1, breaker.TimesOpened);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CircuitBreaker("x", new CircuitBreakerOptions { FailureThreshold = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CircuitBreaker("x", new CircuitBreakerOptions { Cooldown = TimeSpan.FromSeconds(-1) }));
    }
}
