namespace DataPlane.Interop.Verbs;

/// <summary>A registered memory region (struct ibv_mr). Give peers <see cref="Address"/>, <see cref="Length"/> and
/// <see cref="Rkey"/>; use <see cref="Slice"/> for local SGEs.</summary>
public sealed unsafe class MemoryRegion : IDisposable
{
    internal MemoryRegion(MrHandle handle, MemoryAccess access)
    {
        Handle = handle;
        Access = access;
        byte* mr = (byte*)handle.DangerousGetHandle();
        Address = (ulong)*(nint*)(mr + Interop.Verbs.MrAddrOffset);
        Length = (ulong)*(nuint*)(mr + Interop.Verbs.MrLengthOffset);
        Lkey = *(uint*)(mr + Interop.Verbs.MrLkeyOffset);
        Rkey = *(uint*)(mr + Interop.Verbs.MrRkeyOffset);
    }

    /// <summary>Start address; also the start of its remote address space (registered with iova = address).</summary>
    public ulong Address { get; }

    /// <summary>Bytes registered.</summary>
    public ulong Length { get; }

    /// <summary>Local key, for this side's SGEs.</summary>
    public uint Lkey { get; }

    /// <summary>Remote key, for peers' RDMA WRITE/READ.</summary>
    public uint Rkey { get; }

    /// <summary>The rights it was registered with.</summary>
    public MemoryAccess Access { get; }

    internal MrHandle Handle { get; }

    /// <summary>An SGE for <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public ScatterGather Slice(ulong offset, uint length)
    {
        if (offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, {offset + length}) is outside the {Length}-byte region");
        }

        return new ScatterGather(Address + offset, length, Lkey);
    }

    /// <summary>The region's bytes (for filling and checking buffers; the memory belongs to whoever allocated it).</summary>
    public Span<byte> AsSpan(int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((ulong)offset + (ulong)length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, {offset + length}) is outside the {Length}-byte region");
        }

        ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
        return new Span<byte>((byte*)(nint)Address + offset, length);
    }

    /// <summary>Deregisters the region (and unpins a managed buffer).</summary>
    public void Dispose() => Handle.Dispose();
}
