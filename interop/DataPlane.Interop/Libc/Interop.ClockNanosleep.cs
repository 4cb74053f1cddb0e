using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int TIMER_ABSTIME = 1;

        /// <summary>int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem);
        /// returns 0 or an error number (not errno); EINTR when a signal interrupted the sleep.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "clock_nanosleep")]
        internal static unsafe partial int ClockNanosleep(int clockId, int flags, Timespec* request, Timespec* remain);
    }
}
