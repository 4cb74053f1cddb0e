using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const short POLLIN = 0x1;

        /// <summary>struct pollfd: int fd; short events; short revents (8 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct PollFd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }

        /// <summary>int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask);
        /// the number of ready descriptors, 0 on timeout, or -1 with errno (EINTR on a signal).
        /// A null timeout waits without limit.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ppoll", SetLastError = true)]
        internal static unsafe partial int Ppoll(PollFd* fds, nuint count, Timespec* timeout, void* sigmask);
    }
}
