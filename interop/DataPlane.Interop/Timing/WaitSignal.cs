using System.ComponentModel;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Timing;

/// <summary>A wake-up signal for one dedicated waiting thread, with sub-millisecond timeouts:
/// an eventfd waited on with ppoll. <see cref="Set"/> from any thread wakes the waiter (or makes
/// its next wait return at once); <see cref="Wait"/> consumes the signal.
/// The managed wait primitives time out with millisecond granularity, which is too coarse for
/// batching windows of one to five milliseconds.</summary>
public sealed class WaitSignal : IDisposable
{
    private readonly FileDescriptorHandle _fd;

    public WaitSignal()
    {
        int fd = Interop.Libc.EventFd(0, Interop.Libc.EFD_NONBLOCK | Interop.Libc.EFD_CLOEXEC);
        if (fd < 0)
        {
            throw new Win32Exception(Interop.Libc.LastErrno, "eventfd failed");
        }

        _fd = new FileDescriptorHandle(fd);
    }

    /// <summary>Wakes the waiter. Cheap: one write(2) of eight bytes.</summary>
    public unsafe void Set()
    {
        bool added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            ulong one = 1;
            // EAGAIN means the counter is saturated: the waiter is signalled already.
            _ = Interop.Libc.Write((int)_fd.DangerousGetHandle(), &one, sizeof(ulong));
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }
        }
    }

    /// <summary>Waits until signalled or until <paramref name="timeout"/> passes
    /// (<see cref="Timeout.InfiniteTimeSpan"/> waits without limit). Returns true when signalled.</summary>
    public bool Wait(TimeSpan timeout) =>
        WaitNanoseconds(timeout == Timeout.InfiniteTimeSpan ? -1 : Math.Max(0, (long)(timeout.TotalMilliseconds * 1_000_000)));

    /// <summary>Waits until signalled or for <paramref name="timeoutNs"/> nanoseconds (negative: no limit).</summary>
    public unsafe bool WaitNanoseconds(long timeoutNs)
    {
        bool added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            int fd = (int)_fd.DangerousGetHandle();
            var pfd = new Interop.Libc.PollFd { Fd = fd, Events = Interop.Libc.POLLIN };
            long deadline = timeoutNs < 0 ? long.MaxValue : PreciseSleep.MonotonicNanoseconds() + timeoutNs;
            while (true)
            {
                int rc;
                if (timeoutNs < 0)
                {
                    rc = Interop.Libc.Ppoll(&pfd, 1, null, null);
                }
                else
                {
                    var ts = Interop.Libc.Timespec.FromNanoseconds(deadline - PreciseSleep.MonotonicNanoseconds());
                    rc = Interop.Libc.Ppoll(&pfd, 1, &ts, null);
                }

                if (rc > 0)
                {
                    ulong value;
                    _ = Interop.Libc.Read(fd, &value, sizeof(ulong));
                    return true;
                }

                if (rc == 0)
                {
                    return false;
                }

                int errno = Interop.Libc.LastErrno;
                if (errno != Interop.Libc.EINTR)
                {
                    throw new Win32Exception(errno, "ppoll on eventfd failed");
                }
            }
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }
        }
    }

    public void Dispose() => _fd.Dispose();

    private sealed class FileDescriptorHandle : SafeHandle
    {
        public FileDescriptorHandle(int fd)
            : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

        public override bool IsInvalid => handle.ToInt64() < 0;

        protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle) == 0;
    }
}
