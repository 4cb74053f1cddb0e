using System.Runtime.InteropServices;

namespace DataPlane.Interop.Verbs;

/// <summary>A protection domain (struct ibv_pd): memory regions and queue pairs in one PD may be used together.</summary>
public sealed unsafe class ProtectionDomain : IDisposable
{
    internal ProtectionDomain(VerbsContext context, PdHandle handle)
    {
        Context = context;
        Handle = handle;
    }

    /// <summary>The device it belongs to.</summary>
    public VerbsContext Context { get; }

    internal PdHandle Handle { get; }

    /// <summary>Registers native memory (ibv_reg_mr_iova2 with iova = address where the library has it, else
    /// ibv_reg_mr). The memory must stay allocated until the region is disposed.</summary>
    /// <param name="address">Start of the buffer (e.g. from NativeMemory or a pinned array).</param>
    /// <param name="length">Bytes; at most the device's <see cref="VerbsDeviceAttributes.MaxMrSize"/>.</param>
    /// <param name="access">Rights; remote write needs <see cref="MemoryAccess.LocalWrite"/> too.</param>
    public MemoryRegion Register(nint address, long length, MemoryAccess access) => Register(address, length, access, default);

    /// <summary>Registers a managed or native buffer, pinning it until the region is disposed.</summary>
    public MemoryRegion Register(Memory<byte> buffer, MemoryAccess access)
    {
        var pin = buffer.Pin();
        try
        {
            return Register((nint)pin.Pointer, buffer.Length, access, pin);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>Creates a reliable-connected queue pair (ibv_create_qp, IBV_QPT_RC) in the RESET state.</summary>
    /// <param name="sendQueue">Where send-queue completions go.</param>
    /// <param name="receiveQueue">Where receive completions go (may be the same queue).</param>
    /// <param name="capabilities">Queue depths and SGE counts wanted; <see cref="QueuePair.Capabilities"/> says what
    /// the device gave.</param>
    /// <param name="signalAll">Whether every send-queue WR completes visibly (sq_sig_all), whatever its flag.</param>
    public QueuePair CreateQueuePair(CompletionQueue sendQueue, CompletionQueue receiveQueue, QueuePairCapabilities capabilities, bool signalAll = false)
    {
        ArgumentNullException.ThrowIfNull(sendQueue);
        ArgumentNullException.ThrowIfNull(receiveQueue);
        var handle = new QpHandle(Handle.Exports, Handle, sendQueue.Handle, receiveQueue.Handle);
        var init = new Interop.Verbs.IbvQpInitAttr
        {
            SendCq = sendQueue.Handle.DangerousGetHandle(),
            RecvCq = receiveQueue.Handle.DangerousGetHandle(),
            QpType = Interop.Verbs.IBV_QPT_RC,
            SqSigAll = signalAll ? 1 : 0,
            Cap = new Interop.Verbs.IbvQpCap
            {
                MaxSendWr = (uint)capabilities.MaxSendWr,
                MaxRecvWr = (uint)capabilities.MaxRecvWr,
                MaxSendSge = (uint)capabilities.MaxSendSge,
                MaxRecvSge = (uint)capabilities.MaxRecvSge,
                MaxInlineData = (uint)capabilities.MaxInlineData,
            },
        };
        Marshal.SetLastSystemError(0);
        nint qp = Handle.Exports.CreateQp(Handle.DangerousGetHandle(), &init);
        int errno = Marshal.GetLastSystemError();
        if (qp == 0)
        {
            handle.Abandon();
            throw new VerbsException("ibv_create_qp", errno, $"RC, {capabilities}");
        }

        handle.Attach(qp);
        var actual = new QueuePairCapabilities((int)init.Cap.MaxSendWr, (int)init.Cap.MaxRecvWr, (int)init.Cap.MaxSendSge, (int)init.Cap.MaxRecvSge, (int)init.Cap.MaxInlineData);
        return new QueuePair(handle, Context.Handle.Ops, actual);
    }

    /// <summary>Deallocates the PD once its regions and queue pairs are disposed.</summary>
    public void Dispose() => Handle.Dispose();

    private MemoryRegion Register(nint address, long length, MemoryAccess access, System.Buffers.MemoryHandle pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var x = Handle.Exports;
        var handle = new MrHandle(x, Handle);
        uint flags = (uint)access;
        Marshal.SetLastSystemError(0);
        nint mr = x.RegMrIova2 != null
            ? x.RegMrIova2(Handle.DangerousGetHandle(), address, (nuint)length, (ulong)address, flags)
            // Without iova2 the optional bits are not masked by the library, so they are not asked for.
            : x.RegMr(Handle.DangerousGetHandle(), address, (nuint)length, (int)(flags & ~Interop.Verbs.IBV_ACCESS_OPTIONAL_RANGE));
        int errno = Marshal.GetLastSystemError();
        if (mr == 0)
        {
            handle.Abandon();
            throw new VerbsException(x.RegMrIova2 != null ? "ibv_reg_mr_iova2" : "ibv_reg_mr", errno, $"{length} bytes, access {access}");
        }

        handle.Attach(mr);
        handle.KeepPinned(pin);
        return new MemoryRegion(handle, access);
    }
}

/// <summary>Queue depths and SGE counts of a queue pair (struct ibv_qp_cap).</summary>
/// <param name="MaxSendWr">Outstanding send-queue work requests.</param>
/// <param name="MaxRecvWr">Outstanding receives.</param>
/// <param name="MaxSendSge">SGEs per send-queue work request.</param>
/// <param name="MaxRecvSge">SGEs per receive.</param>
/// <param name="MaxInlineData">Bytes a send may carry inline.</param>
public readonly record struct QueuePairCapabilities(int MaxSendWr = 256, int MaxRecvWr = 256, int MaxSendSge = 1, int MaxRecvSge = 1, int MaxInlineData = 0);
