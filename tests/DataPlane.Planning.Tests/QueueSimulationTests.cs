using DataPlane.Planning.Queueing;

namespace DataPlane.Planning.Tests;

/// <summary>The batching-queue model against cases whose answer is known.</summary>
public class QueueSimulationTests
{
    [Fact]
    public void At_light_load_every_request_is_a_batch_of_its_own()
    {
        var p = BatchQueueSimulation.Run(requestsPerSecond: 1, rowsPerRequest: 2, instances: 4, maxBatchRows: 8, baseSeconds: 0.010, perRowSeconds: 0.001);

        Assert.True(p.Stable);
        Assert.Equal(0.012, p.P50Seconds, 9);
        Assert.Equal(0.012, p.P99Seconds, 9);
        Assert.Equal(2, p.MeanBatchRows, 9);
        Assert.InRange(p.Utilization, 0, 0.01);
    }

    [Fact]
    public void Under_heavy_load_batches_fill_and_past_capacity_the_run_is_unstable()
    {
        // One instance, batches of up to 8 at 10 + 1·rows ms: at most 8 / 18 ms = 444 requests/s.
        var heavy = BatchQueueSimulation.Run(400, 1, 1, 8, 0.010, 0.001);
        var over = BatchQueueSimulation.Run(500, 1, 1, 8, 0.010, 0.001);

        Assert.True(heavy.Stable);
        Assert.InRange(heavy.MeanBatchRows, 5, 8);
        Assert.Equal(8, heavy.P99BatchRows);
        Assert.False(over.Stable);
        Assert.True(over.P99Seconds > 10 * heavy.P99Seconds, $"{over.P99Seconds} vs {heavy.P99Seconds}");
    }

    [Fact]
    public void More_instances_never_lengthen_the_p99_and_runs_repeat()
    {
        double previous = double.MaxValue;
        for (int c = 2; c <= 8; c++)
        {
            var p = BatchQueueSimulation.Run(300, 1, c, 4, 0.020, 0.002);
            Assert.True(p.P99Seconds <= previous + 1e-12, $"{c} instances: {p.P99Seconds} after {previous}");
            previous = p.P99Seconds;
        }

        Assert.Equal(BatchQueueSimulation.Run(300, 1, 3, 4, 0.020, 0.002), BatchQueueSimulation.Run(300, 1, 3, 4, 0.020, 0.002));
    }
}
