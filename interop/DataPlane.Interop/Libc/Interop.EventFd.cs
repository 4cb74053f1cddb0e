using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int EFD_NONBLOCK = 0x800;    // O_NONBLOCK (04000)
        internal const int EFD_CLOEXEC = 0x80000;   // O_CLOEXEC (02000000)

        /// <summary>int eventfd(unsigned int initval, int flags); a file descriptor or -1 with errno.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
        internal static partial int EventFd(uint initialValue, int flags);
    }
}
