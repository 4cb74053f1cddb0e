using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>RLIMIT_NOFILE: one more than the largest descriptor number the process may open (asm-generic, the same
        /// on x86_64 and aarch64).</summary>
        internal const int RLIMIT_NOFILE = 7;

        /// <summary>RLIM_INFINITY: no limit (all ones in the 64-bit rlim_t of LP64 Linux).</summary>
        internal const ulong RLIM_INFINITY = ulong.MaxValue;

        /// <summary>struct rlimit on LP64 Linux (x86_64, aarch64): two 64-bit rlim_t, 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Rlimit
        {
            /// <summary>rlim_cur, the soft limit: what the kernel enforces.</summary>
            public ulong RlimCur;

            /// <summary>rlim_max, the hard limit: the most an unprivileged process may raise the soft limit to.</summary>
            public ulong RlimMax;
        }

        /// <summary>int getrlimit(int resource, struct rlimit *rlim); 0, or -1 with errno (EINVAL: unknown resource;
        /// EFAULT: bad pointer).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
        internal static partial int Getrlimit(int resource, out Rlimit rlim);
    }
}
