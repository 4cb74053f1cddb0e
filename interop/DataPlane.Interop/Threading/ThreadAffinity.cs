using System.ComponentModel;

namespace DataPlane.Interop.Threading;

/// <summary>CPU affinity of the calling thread (sched_setaffinity with pid 0: Linux affinity is per thread,
/// which is what pinning one hot thread needs; <see cref="System.Diagnostics.Process.ProcessorAffinity"/>
/// would move every thread of the process).</summary>
public static class ThreadAffinity
{
    /// <summary>Largest CPU number a set can name (glibc's cpu_set_t holds 1024).</summary>
    public const int MaxCpu = (Interop.Libc.CpuSetBytes * 8) - 1;

    /// <summary>Pins the calling thread to <paramref name="cpus"/>. Returns 0, or the errno
    /// (EINVAL when none of the CPUs is online or allowed by the cgroup).</summary>
    public static unsafe int TrySetCurrentThread(IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        byte* mask = stackalloc byte[Interop.Libc.CpuSetBytes];
        new Span<byte>(mask, Interop.Libc.CpuSetBytes).Clear();
        foreach (int cpu in cpus)
        {
            if ((uint)cpu > MaxCpu)
            {
                throw new ArgumentOutOfRangeException(nameof(cpus), cpu, $"CPU numbers run from 0 to {MaxCpu}");
            }

            mask[cpu / 8] |= (byte)(1 << (cpu % 8));
        }

        return Interop.Libc.SchedSetAffinity(0, Interop.Libc.CpuSetBytes, mask) == 0 ? 0 : Interop.Libc.LastErrno;
    }

    /// <summary>The CPUs the calling thread may run on.</summary>
    public static unsafe IReadOnlyList<int> GetCurrentThread()
    {
        byte* mask = stackalloc byte[Interop.Libc.CpuSetBytes];
        new Span<byte>(mask, Interop.Libc.CpuSetBytes).Clear();
        if (Interop.Libc.SchedGetAffinity(0, Interop.Libc.CpuSetBytes, mask) != 0)
        {
            throw new Win32Exception(Interop.Libc.LastErrno, "sched_getaffinity failed");
        }

        var cpus = new List<int>();
        for (int cpu = 0; cpu <= MaxCpu; cpu++)
        {
            if ((mask[cpu / 8] & (1 << (cpu % 8))) != 0)
            {
                cpus.Add(cpu);
            }
        }

        return cpus;
    }
}
