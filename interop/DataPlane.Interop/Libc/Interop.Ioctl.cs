using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>int ioctl(int fd, unsigned long request, ...); called with one pointer argument.
        /// 0 (or a request-specific non-negative value) on success, -1 with errno.</summary>
        /// <remarks>The C prototype is variadic. On the LP64 Linux ABIs we build for (x86_64, aarch64) a
        /// variadic pointer argument is passed exactly like a fixed one, and glibc's ioctl is a plain
        /// system-call wrapper, so declaring the third argument as a fixed <c>void*</c> is sound there.</remarks>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static unsafe partial int Ioctl(SafeHandle fd, nuint request, void* argument);
    }
}
