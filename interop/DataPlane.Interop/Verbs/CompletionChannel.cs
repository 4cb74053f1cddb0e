using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Verbs;

/// <summary>A completion event channel (struct ibv_comp_channel). Arm a queue with
/// <see cref="CompletionQueue.RequestNotify"/>; the next completion on it makes <see cref="FileDescriptor"/> readable
/// and <see cref="WaitForEvent"/> return that queue. Events are one-shot: re-arm, then poll until empty, so a completion
/// that arrived between the last poll and the re-arm is not missed. One thread waits on a channel at a time.</summary>
public sealed unsafe class CompletionChannel : IDisposable
{
    private readonly ConcurrentDictionary<nint, CompletionQueue> _queues = new();

    internal CompletionChannel(ChannelHandle handle) => Handle = handle;

    internal ChannelHandle Handle { get; }

    /// <summary>The channel's file descriptor, for epoll/poll in an event loop (then call <see cref="WaitForEvent"/>
    /// with a zero timeout to take the event). Owned by the channel: do not close it.</summary>
    public int FileDescriptor
    {
        get
        {
            using var lease = new Lease(Handle);
            return *(int*)((byte*)lease.Native + Interop.Verbs.CompChannelFdOffset);
        }
    }

    /// <summary>Waits for an event (ppoll on the fd, then ibv_get_cq_event and ibv_ack_cq_events).</summary>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> to only check,
    /// <see cref="Timeout.InfiniteTimeSpan"/> without limit.</param>
    /// <param name="queue">The queue that had a completion; it is no longer armed.</param>
    /// <returns>False on timeout.</returns>
    public bool WaitForEvent(TimeSpan timeout, [NotNullWhen(true)] out CompletionQueue? queue)
    {
        queue = null;
        using var lease = new Lease(Handle);
        int fd = *(int*)((byte*)lease.Native + Interop.Verbs.CompChannelFdOffset);
        bool infinite = timeout == Timeout.InfiniteTimeSpan;
        long deadline = infinite ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(Math.Max(0, timeout.TotalSeconds) * Stopwatch.Frequency);
        while (true)
        {
            var pfd = new Interop.Libc.PollFd { Fd = fd, Events = Interop.Libc.POLLIN };
            int rc;
            if (infinite)
            {
                rc = Interop.Libc.Ppoll(&pfd, 1, null, null);
            }
            else
            {
                long left = Math.Max(0, deadline - Stopwatch.GetTimestamp());
                var ts = Interop.Libc.Timespec.FromNanoseconds((long)(left * (1e9 / Stopwatch.Frequency)));
                rc = Interop.Libc.Ppoll(&pfd, 1, &ts, null);
            }

            if (rc < 0)
            {
                int errno = Interop.Libc.LastErrno;
                if (errno == Interop.Libc.EINTR)
                {
                    continue;
                }

                throw new VerbsException("ppoll", errno, "completion channel");
            }

            if (rc == 0)
            {
                return false;
            }

            nint cq;
            nint cqContext;
            Marshal.SetLastSystemError(0);
            int got = Handle.Exports.GetCqEvent(lease.Native, &cq, &cqContext);
            int err = Marshal.GetLastSystemError();
            if (got != 0)
            {
                if (err == Interop.Libc.EAGAIN)
                {
                    continue; // another reader took it
                }

                throw new VerbsException("ibv_get_cq_event", err);
            }

            // Acknowledge at once: ibv_destroy_cq waits for every event read to be acknowledged.
            Handle.Exports.AckCqEvents(cq, 1);
            if (_queues.TryGetValue(cq, out queue))
            {
                return true;
            }
        }
    }

    /// <summary>Destroys the channel once every queue attached to it is disposed.</summary>
    public void Dispose() => Handle.Dispose();

    internal void Register(nint cq, CompletionQueue queue) => _queues[cq] = queue;

    internal void Unregister(nint cq) => _queues.TryRemove(cq, out _);
}
