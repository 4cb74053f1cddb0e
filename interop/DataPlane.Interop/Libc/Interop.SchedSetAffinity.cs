using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>Bytes in the cpu_set_t we pass: glibc's fixed 1024-bit set. The kernel accepts any
        /// length that covers its nr_cpu_ids, so 1024 CPUs is the limit of a set built here.</summary>
        internal const int CpuSetBytes = 128;

        /// <summary>int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask);
        /// pid 0 is the calling thread (Linux affinity is per thread). 0, or -1 with errno
        /// (EINVAL: no CPU of the mask is online or allowed; EPERM: another user's thread).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "sched_setaffinity", SetLastError = true)]
        internal static unsafe partial int SchedSetAffinity(int pid, nuint cpuSetSize, byte* mask);

        /// <summary>int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask);
        /// on success the raw syscall returns the bytes written, glibc returns 0.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "sched_getaffinity", SetLastError = true)]
        internal static unsafe partial int SchedGetAffinity(int pid, nuint cpuSetSize, byte* mask);
    }
}
