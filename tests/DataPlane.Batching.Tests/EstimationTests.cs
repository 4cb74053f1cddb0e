using DataPlane.Batching.Estimation;

namespace DataPlane.Batching.Tests;

public class EstimationTests
{
    [Fact]
    public void Latency_model_recovers_intercept_and_slope_from_varied_batches()
    {
        var model = new LatencyModel(1e6, 5e4);
        var random = new Random(7);
        for (int i = 0; i < 400; i++)
        {
            int n = random.Next(1, 33);
            double noise = (random.NextDouble() - 0.5) * 2e5;
            model.Observe(n, 5e6 + (2e5 * n) + noise);
        }

        Assert.InRange(model.InterceptNs, 4.8e6, 5.2e6);
        Assert.InRange(model.SlopeNs, 1.9e5, 2.1e5);
        Assert.InRange(model.PredictNs(32), 11.2e6, 11.6e6);
    }

    [Fact]
    public void Latency_model_keeps_the_prior_slope_until_batch_sizes_spread()
    {
        var model = new LatencyModel(1e6, 5e4);
        for (int i = 0; i < 20; i++)
        {
            model.Observe(1, 3e6);
        }

        Assert.Equal(5e4, model.SlopeNs);
        Assert.Equal(3e6 - 5e4, model.InterceptNs, 1);
    }

    [Fact]
    public void Latency_model_forgets_old_behaviour()
    {
        var model = new LatencyModel(0, 0);
        var random = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            int n = random.Next(1, 17);
            model.Observe(n, 1e6 + (1e5 * n));
        }

        for (int i = 0; i < 300; i++)
        {
            int n = random.Next(1, 17);
            model.Observe(n, 4e6 + (1e5 * n));
        }

        Assert.InRange(model.InterceptNs, 3.9e6, 4.1e6);
    }

    [Fact]
    public void Arrival_rate_tracks_gaps_and_decays_when_idle()
    {
        var rate = new ArrivalRate();
        Assert.Equal(0, rate.PerNanosecond(0));
        long t = 0;
        for (int i = 0; i < 200; i++)
        {
            t += 1_000_000; // 1000 per second
            rate.OnArrival(t, 1);
        }

        Assert.InRange(rate.PerSecond(t), 990, 1010);
        // Ten idle milliseconds: the estimate can be no higher than one arrival per 10 ms.
        Assert.InRange(rate.PerSecond(t + 10_000_000), 99, 101);
        // Rows count: four-row requests every 4 ms are 1000 rows/s.
        var rows = new ArrivalRate();
        for (int i = 1; i <= 100; i++)
        {
            rows.OnArrival(i * 4_000_000L, 4);
        }

        Assert.InRange(rows.PerSecond(400_000_000), 990, 1010);
    }
}
