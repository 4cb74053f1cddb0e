using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int CLOCK_MONOTONIC = 1;

        /// <summary>int clock_gettime(clockid_t clk, struct timespec *tp); 0 or -1 with errno.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "clock_gettime", SetLastError = true)]
        internal static unsafe partial int ClockGettime(int clockId, Timespec* tp);
    }
}
