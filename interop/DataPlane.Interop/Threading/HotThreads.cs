namespace DataPlane.Interop.Threading;

/// <summary>Where the daemon's hot threads (batch dispatch timers, completion pollers) run. The daemon configures
/// the reserved CPUs once at start; each hot thread calls <see cref="Enter"/> first thing and is pinned to the next
/// reserved CPU in turn. Unconfigured, <see cref="Enter"/> does nothing, so libraries can call it unconditionally.</summary>
public static class HotThreads
{
    private static int[] s_cpus = [];
    private static int s_next = -1;
    private static int s_pinned;
    private static int s_failed;

    /// <summary>The reserved CPUs (empty: hot threads are not pinned).</summary>
    public static IReadOnlyList<int> Cpus => Volatile.Read(ref s_cpus);

    /// <summary>Hot threads pinned so far.</summary>
    public static int Pinned => Volatile.Read(ref s_pinned);

    /// <summary>Hot threads whose pinning the kernel refused (e.g. CPUs outside the service's cgroup).</summary>
    public static int Failed => Volatile.Read(ref s_failed);

    /// <summary>Sets the reserved CPUs for hot threads started from now on.</summary>
    public static void Configure(IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        Volatile.Write(ref s_cpus, cpus.Distinct().Order().ToArray());
    }

    /// <summary>Pins the calling thread to one reserved CPU (round robin). Returns the CPU, or -1 when unconfigured
    /// or refused (counted in <see cref="Failed"/>).</summary>
    public static int Enter()
    {
        var cpus = Volatile.Read(ref s_cpus);
        if (cpus.Length == 0)
        {
            return -1;
        }

        int cpu = cpus[(int)((uint)Interlocked.Increment(ref s_next) % (uint)cpus.Length)];
        if (ThreadAffinity.TrySetCurrentThread([cpu]) != 0)
        {
            Interlocked.Increment(ref s_failed);
            return -1;
        }

        Interlocked.Increment(ref s_pinned);
        return cpu;
    }
}
