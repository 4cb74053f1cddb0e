namespace DataPlane.Interop.Verbs;

/// <summary>A completion queue (struct ibv_cq). <see cref="Poll"/> and <see cref="RequestNotify"/> call the provider's
/// ops-table entries directly (no allocation, no exception on the normal path).</summary>
public sealed unsafe class CompletionQueue : IDisposable
{
    private const int PollChunk = 32;
    private readonly Interop.Verbs.ContextOps _ops;
    private readonly nint _native;

    internal CompletionQueue(CqHandle handle, Interop.Verbs.ContextOps ops, CompletionChannel? channel)
    {
        Handle = handle;
        _ops = ops;
        Channel = channel;
        _native = handle.DangerousGetHandle();
        Capacity = *(int*)((byte*)_native + Interop.Verbs.CqCqeOffset);
    }

    /// <summary>How many completions it holds (cqe, at least what was asked for).</summary>
    public int Capacity { get; }

    /// <summary>The channel its events go to, or null.</summary>
    public CompletionChannel? Channel { get; }

    internal CqHandle Handle { get; }

    /// <summary>Arms the queue (ibv_req_notify_cq): the next completion (or, with <paramref name="solicitedOnly"/>, the
    /// next solicited or error completion) raises one event on <see cref="Channel"/>.</summary>
    public void RequestNotify(bool solicitedOnly = false)
    {
        using var lease = new Lease(Handle);
        int rc = _ops.ReqNotifyCq(lease.Native, solicitedOnly ? 1 : 0);
        if (rc != 0)
        {
            throw new VerbsException("ibv_req_notify_cq", rc);
        }
    }

    /// <summary>Takes up to <c>completions.Length</c> completions (ibv_poll_cq), oldest first.</summary>
    /// <returns>How many were written; 0 when the queue is empty.</returns>
    /// <exception cref="VerbsException">The provider reported a polling error (e.g. the queue overflowed).</exception>
    public int Poll(Span<WorkCompletion> completions)
    {
        if (completions.IsEmpty)
        {
            return 0;
        }

        using var lease = new Lease(Handle);
        Interop.Verbs.IbvWc* wc = stackalloc Interop.Verbs.IbvWc[PollChunk];
        int total = 0;
        while (total < completions.Length)
        {
            int want = Math.Min(PollChunk, completions.Length - total);
            int n = _ops.PollCq(lease.Native, want, wc);
            if (n < 0)
            {
                throw new VerbsException("ibv_poll_cq", 0, $"returned {n}");
            }

            for (int i = 0; i < n; i++)
            {
                completions[total + i] = new WorkCompletion(wc[i]);
            }

            total += n;
            if (n < want)
            {
                break;
            }
        }

        return total;
    }

    /// <summary>Destroys the queue once no queue pair uses it.</summary>
    public void Dispose()
    {
        Channel?.Unregister(_native);
        Handle.Dispose();
    }
}
