using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int AF_INET = 2;
        internal const int SOCK_DGRAM = 2;
        internal const int SOCK_CLOEXEC = 0x80000;  // O_CLOEXEC (02000000)

        /// <summary>int socket(int domain, int type, int protocol); a file descriptor or -1 with errno.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial int Socket(int domain, int type, int protocol);
    }
}
