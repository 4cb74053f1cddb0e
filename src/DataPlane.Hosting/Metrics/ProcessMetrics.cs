using System.Globalization;
using System.Text;

namespace DataPlane.Hosting.Metrics;

/// <summary>The standard process metrics of Prometheus client libraries, from /proc/self and the GC.</summary>
internal static class ProcessMetrics
{
    private static readonly long s_pageSize = Environment.SystemPageSize;

    public static void Write(StringBuilder sb, DateTimeOffset started)
    {
        var cpu = Environment.CpuUsage.TotalTime.TotalSeconds;
        Sample(sb, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
        if (ReadStatm() is { } statm)
        {
            Sample(sb, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", statm.Virtual);
            Sample(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", statm.Resident);
        }

        Sample(sb, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", started.ToUnixTimeMilliseconds() / 1000.0);
        try
        {
            Sample(sb, "process_open_fds", "gauge", "Number of open file descriptors.", Directory.GetFiles("/proc/self/fd").Length);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        sb.Append("# HELP dotnet_collection_count_total GC collection count.\n# TYPE dotnet_collection_count_total counter\n");
        for (int g = 0; g <= GC.MaxGeneration; g++)
        {
            sb.Append("dotnet_collection_count_total{generation=\"").Append(g).Append("\"} ")
                .Append(GC.CollectionCount(g).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Sample(sb, "dotnet_total_memory_bytes", "gauge", "Total known allocated memory in bytes.", GC.GetTotalMemory(false));

        // What OpenTelemetry's .NET runtime metric dotnet.gc.heap.total_allocated is called in Prometheus: bytes the
        // process has allocated on the managed heap since it started (the benchmarks divide its growth by requests).
        Sample(sb, "dotnet_gc_heap_total_allocated_bytes_total", "counter", "Bytes allocated on the managed GC heap since the process started.",
            GC.GetTotalAllocatedBytes(precise: true));
    }

    private static void Sample(StringBuilder sb, string name, string type, string help, double value) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
            .Append(name).Append(' ').Append(Metric.Format(value)).Append('\n');

    private static (double Virtual, double Resident)? ReadStatm()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return (long.Parse(fields[0], CultureInfo.InvariantCulture) * s_pageSize, long.Parse(fields[1], CultureInfo.InvariantCulture) * s_pageSize);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
