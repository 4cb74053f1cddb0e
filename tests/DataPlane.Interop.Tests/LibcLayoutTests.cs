using System.Runtime.InteropServices;
using DataPlane.Interop;

namespace DataPlane.Interop.Tests;

/// <summary>Compiles native/layout/libc_layout.c against the system headers and checks that every
/// size, offset and constant matches the managed declarations.</summary>
public class LibcLayoutTests
{
    private static readonly NativeLayout s_native = new("libc_layout.c");

    [Fact]
    public void Timespec_matches_the_C_layout()
    {
        Assert.Equal(Native("sizeof(struct timespec)"), Marshal.SizeOf<Interop.Libc.Timespec>());
        Assert.Equal(Native("offsetof(struct timespec,tv_sec)"), Marshal.OffsetOf<Interop.Libc.Timespec>(nameof(Interop.Libc.Timespec.TvSec)));
        Assert.Equal(Native("offsetof(struct timespec,tv_nsec)"), Marshal.OffsetOf<Interop.Libc.Timespec>(nameof(Interop.Libc.Timespec.TvNsec)));
    }

    [Fact]
    public void Pollfd_matches_the_C_layout()
    {
        Assert.Equal(Native("sizeof(struct pollfd)"), Marshal.SizeOf<Interop.Libc.PollFd>());
        Assert.Equal(Native("offsetof(struct pollfd,fd)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Fd)));
        Assert.Equal(Native("offsetof(struct pollfd,events)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Events)));
        Assert.Equal(Native("offsetof(struct pollfd,revents)"), Marshal.OffsetOf<Interop.Libc.PollFd>(nameof(Interop.Libc.PollFd.Revents)));
    }

    [Fact]
    public void Constants_match_the_headers()
    {
        Assert.Equal(Interop.Libc.POLLIN, Native("POLLIN"));
        Assert.Equal(Interop.Libc.EFD_NONBLOCK, Native("EFD_NONBLOCK"));
        Assert.Equal(Interop.Libc.EFD_CLOEXEC, Native("EFD_CLOEXEC"));
        Assert.Equal(Interop.Libc.CLOCK_MONOTONIC, Native("CLOCK_MONOTONIC"));
        Assert.Equal(Interop.Libc.TIMER_ABSTIME, Native("TIMER_ABSTIME"));
        Assert.Equal(Interop.Libc.CpuSetBytes, Native("sizeof(cpu_set_t)"));
        Assert.Equal(Interop.Libc.MCL_CURRENT, Native("MCL_CURRENT"));
        Assert.Equal(Interop.Libc.MCL_FUTURE, Native("MCL_FUTURE"));
        Assert.Equal(Interop.Libc.RLIMIT_NOFILE, Native("RLIMIT_NOFILE"));
        Assert.Equal(unchecked((long)Interop.Libc.RLIM_INFINITY), Native("RLIM_INFINITY"));
    }

    [Fact]
    public void Rlimit_matches_the_C_layout()
    {
        Assert.Equal(Native("sizeof(struct rlimit)"), Marshal.SizeOf<Interop.Libc.Rlimit>());
        Assert.Equal(Native("offsetof(struct rlimit,rlim_cur)"), Marshal.OffsetOf<Interop.Libc.Rlimit>(nameof(Interop.Libc.Rlimit.RlimCur)));
        Assert.Equal(Native("offsetof(struct rlimit,rlim_max)"), Marshal.OffsetOf<Interop.Libc.Rlimit>(nameof(Interop.Libc.Rlimit.RlimMax)));
    }

    private static long Native(string name) => s_native.Value(name);
}
