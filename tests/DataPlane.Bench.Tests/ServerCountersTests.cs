namespace DataPlane.Bench.Tests;

public sealed class ServerCountersTests
{
    [Fact]
    public void Parse_reads_the_unlabelled_cpu_and_allocation_counters_and_ignores_lookalikes()
    {
        const string text = """
            # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total 12.5
            process_cpu_seconds_total_extra 99
            dotnet_collection_count_total{generation="0"} 4
            dotnet_gc_heap_total_allocated_bytes_total{kind="x"} 7
            dotnet_gc_heap_total_allocated_bytes_total 1.048576e6 1700000000000
            """;
        var sample = ServerCounters.Parse(text);
        Assert.Equal(new ServerSample(12.5, 1048576), sample);
    }

    [Fact]
    public void Parse_without_a_cpu_counter_is_null_and_without_allocations_keeps_the_cpu()
    {
        Assert.Null(ServerCounters.Parse("dotnet_gc_heap_total_allocated_bytes_total 5\n"));
        Assert.Null(ServerCounters.Parse("process_cpu_seconds_total not-a-number\n"));
        Assert.Equal(new ServerSample(3, null), ServerCounters.Parse("process_cpu_seconds_total 3\n"));
    }

    [Fact]
    public void PerRequest_divides_the_growth_by_the_successful_requests()
    {
        var (cpu, alloc) = ServerCounters.PerRequest(new ServerSample(1.0, 1000), new ServerSample(1.05, 2_001_000), 1000);
        Assert.Equal(50, cpu!.Value, 6);
        Assert.Equal(2000, alloc!.Value, 6);

        Assert.Equal((null, null), ServerCounters.PerRequest(null, new ServerSample(1, 1), 10));
        Assert.Equal((null, null), ServerCounters.PerRequest(new ServerSample(1, 1), new ServerSample(2, 2), 0));
        var (cpuOnly, noAlloc) = ServerCounters.PerRequest(new ServerSample(1, null), new ServerSample(2, 5), 10);
        Assert.Equal(1e5, cpuOnly!.Value, 6);
        Assert.Null(noAlloc);
    }
}
