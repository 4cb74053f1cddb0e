namespace DataPlane.Bench.Tests;

public class ArrivalScheduleTests
{
    [Fact]
    public void Constant_arrivals_are_evenly_spaced()
    {
        long[] t = ArrivalSchedule.Create(LoadMode.Constant, 100, 1.0, seed: 1);
        Assert.Equal(100, t.Length);
        Assert.Equal(0, t[0]);
        Assert.All(Enumerable.Range(1, t.Length - 1), i => Assert.Equal(10_000_000, t[i] - t[i - 1], 1.0));
    }

    [Fact]
    public void Poisson_arrivals_average_the_rate_and_repeat_with_the_seed()
    {
        long[] t = ArrivalSchedule.Create(LoadMode.Poisson, 1000, 20.0, seed: 42);
        // 20,000 expected; the standard deviation of the count is about 141.
        Assert.InRange(t.Length, 19_300, 20_700);
        Assert.True(t.Zip(t.Skip(1)).All(p => p.First <= p.Second), "ascending");
        Assert.All(t, x => Assert.InRange(x, 0, 20_000_000_000 - 1));
        double[] gaps = t.Zip(t.Skip(1), (a, b) => (b - a) / 1e6).ToArray();
        // Exponential gaps: the standard deviation equals the mean (1 ms).
        double mean = gaps.Average();
        double sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.InRange(mean, 0.95, 1.05);
        Assert.InRange(sd, 0.9, 1.1);
        Assert.Equal(t, ArrivalSchedule.Create(LoadMode.Poisson, 1000, 20.0, seed: 42));
        Assert.NotEqual(t, ArrivalSchedule.Create(LoadMode.Poisson, 1000, 20.0, seed: 43));
    }

    [Fact]
    public void Closed_mode_has_no_schedule()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ArrivalSchedule.Create(LoadMode.Closed, 10, 1, 1));
    }
}
