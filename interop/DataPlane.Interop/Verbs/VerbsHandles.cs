using System.Buffers;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Verbs;

/// <summary>A verbs object owned by a SafeHandle that holds a reference on each object it was created from, so the
/// native teardown order is always right whatever order the managed wrappers are disposed in: a QP is destroyed before
/// its PD and CQs, an MR before its PD, a CQ before its channel, and the device context last.</summary>
internal abstract class VerbsHandle : SafeHandle
{
    private readonly SafeHandle[] _parents;
    private int _parentsHeld;

    /// <summary>Takes a reference on every parent (throws <see cref="ObjectDisposedException"/> if one is closed). Create
    /// the native object after this, then <see cref="Attach"/> it, or <see cref="Abandon"/> on failure.</summary>
    protected VerbsHandle(Interop.Verbs.Exports exports, params SafeHandle[] parents)
        : base(0, ownsHandle: true)
    {
        Exports = exports;
        _parents = parents;
        try
        {
            foreach (var parent in parents)
            {
                bool added = false;
                parent.DangerousAddRef(ref added);
                _parentsHeld++;
            }
        }
        catch
        {
            ReleaseParents();
            throw;
        }
    }

    internal Interop.Verbs.Exports Exports { get; }

    public override bool IsInvalid => handle == 0;

    internal void Attach(nint native) => SetHandle(native);

    /// <summary>The native object was never created: drop the parent references and close.</summary>
    internal void Abandon()
    {
        ReleaseParents();
        SetHandleAsInvalid();
        Dispose();
    }

    protected sealed override bool ReleaseHandle()
    {
        int rc = Destroy(handle);
        ReleaseParents();
        return rc == 0;
    }

    /// <summary>The ibv_destroy_*/dealloc/dereg/close call: 0 or an errno value.</summary>
    protected abstract int Destroy(nint native);

    private void ReleaseParents()
    {
        for (; _parentsHeld > 0; _parentsHeld--)
        {
            _parents[_parentsHeld - 1].DangerousRelease();
        }
    }
}

/// <summary>An open device (struct ibv_context *) and its data-path function pointers.</summary>
internal sealed unsafe class ContextHandle : VerbsHandle
{
    internal ContextHandle(Interop.Verbs.Exports exports)
        : base(exports)
    {
    }

    /// <summary>The ops-table entries, read once at open.</summary>
    internal Interop.Verbs.ContextOps Ops { get; private set; }

    internal void AttachContext(nint context)
    {
        Attach(context);
        Ops = new Interop.Verbs.ContextOps(context);
    }

    protected override int Destroy(nint native) => Exports.CloseDevice(native);
}

/// <summary>struct ibv_pd *.</summary>
internal sealed unsafe class PdHandle(Interop.Verbs.Exports exports, ContextHandle context) : VerbsHandle(exports, context)
{
    protected override int Destroy(nint native) => Exports.DeallocPd(native);
}

/// <summary>struct ibv_mr *, and the pin of the managed buffer it covers (released after deregistration).</summary>
internal sealed unsafe class MrHandle(Interop.Verbs.Exports exports, PdHandle pd) : VerbsHandle(exports, pd)
{
    private MemoryHandle _pin;

    internal void KeepPinned(MemoryHandle pin) => _pin = pin;

    protected override int Destroy(nint native)
    {
        int rc = Exports.DeregMr(native);
        _pin.Dispose();
        return rc;
    }
}

/// <summary>struct ibv_comp_channel *.</summary>
internal sealed unsafe class ChannelHandle(Interop.Verbs.Exports exports, ContextHandle context) : VerbsHandle(exports, context)
{
    protected override int Destroy(nint native) => Exports.DestroyCompChannel(native);
}

/// <summary>struct ibv_cq *; holds its channel, if any, as a parent.</summary>
internal sealed unsafe class CqHandle(Interop.Verbs.Exports exports, params SafeHandle[] parents) : VerbsHandle(exports, parents)
{
    protected override int Destroy(nint native) => Exports.DestroyCq(native);
}

/// <summary>struct ibv_qp *; holds its PD and both CQs.</summary>
internal sealed unsafe class QpHandle(Interop.Verbs.Exports exports, params SafeHandle[] parents) : VerbsHandle(exports, parents)
{
    protected override int Destroy(nint native) => Exports.DestroyQp(native);
}

/// <summary>Holds a reference on a handle for the length of one call, so that a concurrent Dispose destroys the native
/// object only after the call returns; throws <see cref="ObjectDisposedException"/> once it is disposed.</summary>
internal readonly ref struct Lease
{
    private readonly SafeHandle _handle;

    public Lease(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        _handle = handle;
        Native = handle.DangerousGetHandle();
    }

    /// <summary>The native pointer, valid until the lease ends.</summary>
    public nint Native { get; }

    public void Dispose() => _handle.DangerousRelease();
}
