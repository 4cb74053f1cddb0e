using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int MCL_CURRENT = 1;
        internal const int MCL_FUTURE = 2;

        /// <summary>int mlockall(int flags); 0, or -1 with errno (ENOMEM: RLIMIT_MEMLOCK too small
        /// without CAP_IPC_LOCK; EPERM).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "mlockall", SetLastError = true)]
        internal static partial int Mlockall(int flags);
    }
}
