using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int EINTR = 4;
        internal const int EAGAIN = 11;

        /// <summary>errno of the last P/Invoke declared with SetLastError = true.</summary>
        internal static int LastErrno => Marshal.GetLastPInvokeError();
    }
}
