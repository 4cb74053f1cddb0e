using System.ComponentModel;

namespace DataPlane.Interop.Resources;

/// <summary>The process's limit on open file descriptors (RLIMIT_NOFILE): every socket, file, eventfd and epoll
/// instance counts against <see cref="Soft"/>, and an accept or open beyond it fails with EMFILE.</summary>
/// <param name="Soft">The limit the kernel enforces now (systemd's <c>LimitNOFILE=</c>, <c>ulimit -n</c>);
/// <see cref="long.MaxValue"/> when unlimited.</param>
/// <param name="Hard">The most the soft limit may be raised to without privilege; <see cref="long.MaxValue"/> when unlimited.</param>
public readonly record struct DescriptorLimit(long Soft, long Hard)
{
    /// <summary>Reads the calling process's limit (getrlimit(RLIMIT_NOFILE)). It never fails on Linux; a failure is
    /// reported as a <see cref="Win32Exception"/> with the errno.</summary>
    public static DescriptorLimit Current()
    {
        if (Interop.Libc.Getrlimit(Interop.Libc.RLIMIT_NOFILE, out var limit) != 0)
        {
            throw new Win32Exception(Interop.Libc.LastErrno, "getrlimit(RLIMIT_NOFILE) failed");
        }

        return new DescriptorLimit(ToLong(limit.RlimCur), ToLong(limit.RlimMax));
    }

    private static long ToLong(ulong value) => value == Interop.Libc.RLIM_INFINITY || value > long.MaxValue ? long.MaxValue : (long)value;
}
