using DataPlane.Planning.Capacity;
using DataPlane.Planning.Inputs;

namespace DataPlane.Planning.Tests;

/// <summary>The planner's arithmetic on the design's example and its edge cases.</summary>
public class PlannerTests
{
    /// <summary>The design's question: 70 % local hit rate, 1,000 requests/s at the peak, 200 ms per GPU query
    /// (a = 180 ms, b = 20 ms per row, batches of up to 8), an objective of 1 s (docs/PLANNING.md).</summary>
    internal static PlanInput DesignExample(int maxBatchRows = 8) => new()
    {
        PeakRequestsPerSecond = 1000,
        LocalHitRate = 0.7,
        SloMs = 1000,
        Models =
        [
            new ModelFigures
            {
                Name = "llm", EscalationShare = 1, LatencyBaseSeconds = 0.180, LatencyPerRowSeconds = 0.020, MaxBatchRows = maxBatchRows,
                Instances = 8, Hosts = 1,
            },
        ],
    };

    [Fact]
    public void The_design_example_plans_from_the_throughput_bound_up_and_moves_with_the_hit_rate()
    {
        var plan = CapacityPlanner.Plan(DesignExample(), new PlanSettings());

        Assert.Equal(["measured", "-10 points", "+10 points"], plan.Scenarios.Select(s => s.Name));
        var measured = plan.Scenarios[0].Models[0];
        Assert.Equal(300, measured.GpuRequestsPerSecond, 9);
        Assert.Equal(390, measured.PlannedRequestsPerSecond, 9);
        // Full batches of 8 take 180 + 8·20 = 340 ms: 23.5 requests/s per instance; 390 / 23.5 = 16.6, so 17 carry it.
        Assert.Equal(17, measured.ThroughputInstances);
        Assert.Equal(17, measured.Instances);
        Assert.Equal(8, measured.InstancesPerHost);
        Assert.Equal((measured.Instances + 7) / 8, measured.Hosts);
        Assert.True(measured.PredictedP99Ms <= 1000, $"p99 {measured.PredictedP99Ms} ms");
        Assert.True(measured.FewerInstancesP99Ms is null or > 1000, $"one fewer: p99 {measured.FewerInstancesP99Ms} ms");
        Assert.InRange(measured.MeanBatchRows!.Value, 1, 8);
        Assert.InRange(measured.Load!.Value, 390 * 0.34 / 8 / measured.Instances - 1e-9, 390 * 0.34 / 8 / measured.Instances + 1e-9);

        var lower = plan.Scenarios[1];
        var higher = plan.Scenarios[2];
        Assert.Equal(0.6, lower.LocalHitRate, 9);
        Assert.Equal(400, lower.GpuRequestsPerSecond, 9);
        Assert.Equal(0.8, higher.LocalHitRate, 9);
        Assert.Equal(200, higher.GpuRequestsPerSecond, 9);
        Assert.True(lower.Instances > plan.Scenarios[0].Instances && plan.Scenarios[0].Instances > higher.Instances,
            $"{lower.Instances} > {plan.Scenarios[0].Instances} > {higher.Instances}");
    }

    [Fact]
    public void Without_batching_the_same_queries_need_four_times_the_instances()
    {
        var batched = CapacityPlanner.Plan(DesignExample(), new PlanSettings()).Scenarios[0].Models[0];
        var alone = CapacityPlanner.Plan(DesignExample(maxBatchRows: 1), new PlanSettings()).Scenarios[0].Models[0];

        // 390 requests/s × 200 ms = 78 instances busy all the time: 79 carry it.
        Assert.Equal(79, alone.ThroughputInstances);
        Assert.True(alone.Instances >= 4 * batched.Instances, $"{alone.Instances} unbatched vs {batched.Instances} batched");
        Assert.Equal(1, alone.MeanBatchRows);
    }

    [Fact]
    public void The_throughput_bound_is_the_rate_over_what_one_instance_serves_with_full_batches()
    {
        Assert.Equal(0, CapacityPlanner.ThroughputInstances(0, 1, 8, 0.1, 0.01));
        // 4 rows per request, 8 per batch: 2 requests per 0.1 + 0.01·8 = 0.18 s batch; 100/s × 0.18 / 2 = 9 → 10.
        Assert.Equal(10, CapacityPlanner.ThroughputInstances(100, 4, 8, 0.1, 0.01));
        // Exactly at capacity is not enough: 10 instances at 100 % would queue without bound.
        Assert.Equal(11, CapacityPlanner.ThroughputInstances(100, 1, 1, 0.1, 0));
    }

    [Fact]
    public void No_escalation_needs_no_instances_and_a_lower_hit_rate_still_plans_with_equal_shares()
    {
        var input = DesignExample() with
        {
            LocalHitRate = 1,
            Models =
            [
                DesignExample().Models[0] with { EscalationShare = 0 },
                DesignExample().Models[0] with { Name = "embed", EscalationShare = 0, LatencyBaseSeconds = 0.01, LatencyPerRowSeconds = 0.001 },
            ],
        };

        var plan = CapacityPlanner.Plan(input, new PlanSettings());

        Assert.Equal(["measured", "-10 points"], plan.Scenarios.Select(s => s.Name));
        Assert.All(plan.Scenarios[0].Models, m =>
        {
            Assert.Equal(0, m.GpuRequestsPerSecond);
            Assert.Equal(0, m.Instances);
            Assert.Equal(0, m.Hosts);
            Assert.Null(m.PredictedP99Ms);
        });
        Assert.Equal(0, plan.Scenarios[0].Instances);
        Assert.Equal(100, plan.Scenarios[1].GpuRequestsPerSecond, 9);
        Assert.All(plan.Scenarios[1].Models, m => Assert.Equal(50, m.GpuRequestsPerSecond, 9));
        Assert.All(plan.Scenarios[1].Models, m => Assert.True(m.Instances > 0));
        Assert.Contains(plan.Notes, n => n.Contains("split equally", StringComparison.Ordinal));
    }

    [Fact]
    public void A_hit_rate_of_zero_has_only_the_upward_variation_and_overrides_replace_the_measured_figures()
    {
        var plan = CapacityPlanner.Plan(DesignExample(), new PlanSettings { LocalHitRate = 0, PeakRequestsPerSecond = 100, Headroom = 0 });

        Assert.Equal(["measured", "+10 points"], plan.Scenarios.Select(s => s.Name));
        Assert.Equal(100, plan.PeakRequestsPerSecond);
        Assert.Equal(100, plan.Scenarios[0].Models[0].PlannedRequestsPerSecond, 9);
        Assert.Equal(90, plan.Scenarios[1].GpuRequestsPerSecond, 9);
    }

    [Fact]
    public void An_objective_not_above_one_batch_is_a_clear_error()
    {
        var e = Assert.Throws<PlanInputException>(() => CapacityPlanner.Plan(DesignExample(), new PlanSettings { SloMs = 150 }));

        Assert.Equal("model 'llm': the objective 150 ms is not above one request's own latency, a + b·rows + window = 180 + 20·1 + 5 = 205 ms: "
            + "no number of instances holds it", e.Message);
    }

    [Fact]
    public void A_model_without_an_objective_is_named()
    {
        var e = Assert.Throws<PlanInputException>(() => CapacityPlanner.Plan(DesignExample() with { SloMs = null }, new PlanSettings()));

        Assert.Contains("model 'llm' has no latency objective: give --slo-ms", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_out_of_range_are_named()
    {
        Assert.Contains("headroom -1", Assert.Throws<PlanInputException>(() => CapacityPlanner.Plan(DesignExample(), new PlanSettings { Headroom = -1 })).Message,
            StringComparison.Ordinal);
        Assert.Contains("local hit rate 2", Assert.Throws<PlanInputException>(
            () => CapacityPlanner.Plan(DesignExample(), new PlanSettings { LocalHitRate = 2 })).Message, StringComparison.Ordinal);
    }
}
