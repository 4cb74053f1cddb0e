using System.Buffers;
using System.Runtime.InteropServices;

namespace DataPlane.Transfer.Buffers;

/// <summary>Memory that never moves, so a NIC (or the TCP transport's receive loop) can write it by address:
/// page-aligned native memory owned by the buffer (<see cref="Allocate"/>), or memory owned by someone else
/// that stays pinned for at least the buffer's lifetime (<see cref="FromPointer"/>: a pinned array, GPU memory
/// mapped for the host, a hugepage mapping). Reference counted: disposing frees owned memory only after the
/// last in-flight transfer holding it has finished, so a transfer never touches freed memory.</summary>
public sealed unsafe class PinnedBuffer : MemoryManager<byte>
{
    /// <summary>Alignment of <see cref="Allocate"/>d buffers: one 4 KiB page, the unit <c>ibv_reg_mr</c> pins.</summary>
    public const int PageSize = 4096;

    private readonly bool _owned;
    private int _references = 1;
    private int _disposed;

    private PinnedBuffer(byte* address, int length, bool owned)
    {
        Address = (nint)address;
        Length = length;
        _owned = owned;
    }

    /// <summary>Address of the first byte.</summary>
    public nint Address { get; }

    /// <summary>Length in bytes.</summary>
    public int Length { get; }

    /// <summary>True once disposed (the memory may still be held by transfers in flight).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes aligned to <paramref name="alignment"/> (a power
    /// of two, default one page).</summary>
    public static PinnedBuffer Allocate(int length, int alignment = PageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        }

        void* p = NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment);
        NativeMemory.Clear(p, (nuint)length);
        return new PinnedBuffer((byte*)p, length, owned: true);
    }

    /// <summary>Wraps memory the caller owns and keeps pinned (and alive) for as long as this buffer and any
    /// registration of it are in use. Disposing the wrapper does not free the memory.</summary>
    public static PinnedBuffer FromPointer(nint address, int length)
    {
        if (address == 0)
        {
            throw new ArgumentException("null address", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return new PinnedBuffer((byte*)address, length, owned: false);
    }

    /// <inheritdoc/>
    public override Span<byte> GetSpan()
    {
        // Valid while anything holds the memory, including a transfer that outlived the owner's Dispose.
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _references) == 0, this);
        return new Span<byte>((void*)Address, Length);
    }

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, Length);
        AddRef();
        return new MemoryHandle((byte*)Address + elementIndex, default, this);
    }

    /// <inheritdoc/>
    public override void Unpin() => Release();

    /// <summary>Keeps the memory alive until the matching <see cref="Release"/>; throws once it is freed.</summary>
    internal void AddRef()
    {
        if (!TryAddRef())
        {
            throw new ObjectDisposedException(nameof(PinnedBuffer));
        }
    }

    /// <summary>Like <see cref="AddRef"/> but answers false instead of throwing. A buffer that was disposed
    /// but is still held by a transfer can be held again (the memory is still there).</summary>
    internal bool TryAddRef()
    {
        while (true)
        {
            int current = Volatile.Read(ref _references);
            if (current == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Ends a hold taken with <see cref="AddRef"/>; the last one frees owned memory.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            if (_owned)
            {
                NativeMemory.AlignedFree((void*)Address);
            }

        }
    }

    /// <summary>Gives up the owner's hold: owned memory is freed when no transfer holds it any more. A buffer
    /// that is never disposed leaks (no finalizer: it could free memory a Span still points at).</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }
    }
}
