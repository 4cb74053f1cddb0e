using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>struct timespec on LP64 Linux (x86_64, aarch64): two 64-bit longs, 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Timespec
        {
            public long TvSec;
            public long TvNsec;

            public static Timespec FromNanoseconds(long ns)
            {
                if (ns < 0)
                {
                    ns = 0;
                }

                return new Timespec { TvSec = ns / 1_000_000_000, TvNsec = ns % 1_000_000_000 };
            }

            public readonly long ToNanoseconds() => (TvSec * 1_000_000_000) + TvNsec;
        }
    }
}
