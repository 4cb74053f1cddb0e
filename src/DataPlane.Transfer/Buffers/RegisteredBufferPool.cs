using System.Collections.Concurrent;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Buffers;

/// <summary>A fixed set of equal-sized buffers carved from one page-aligned allocation that is registered
/// once (one memory region, one rkey for the whole pool). Renting never registers or allocates. When every
/// buffer is out, <see cref="TryRent"/> answers false and <see cref="RentAsync"/> waits for a return: the
/// pool is the bound on memory in flight.</summary>
public sealed class RegisteredBufferPool : IDisposable
{
    private readonly PinnedBuffer _memory;
    private readonly ConcurrentStack<PooledBuffer> _free = new();
    private readonly SemaphoreSlim _available;
    private int _disposed;

    /// <summary>Allocates <paramref name="count"/> buffers of <paramref name="bufferBytes"/> (each rounded up to
    /// a multiple of 64 bytes, the cache line) and registers them with <paramref name="transport"/>.</summary>
    public RegisteredBufferPool(ITransport transport, int bufferBytes, int count, RegionAccess access = RegionAccess.All)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int stride = checked((bufferBytes + 63) & ~63);
        long total = (long)stride * count;
        if (total > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} buffers of {bufferBytes} bytes exceed 2 GiB; use several pools");
        }

        BufferBytes = bufferBytes;
        Count = count;
        _memory = PinnedBuffer.Allocate((int)total);
        try
        {
            Registration = transport.Register(_memory, access);
        }
        catch
        {
            _memory.Dispose();
            throw;
        }

        for (int i = count - 1; i >= 0; i--)
        {
            _free.Push(new PooledBuffer(this, Registration.Slice(i * stride, bufferBytes)));
        }

        _available = new SemaphoreSlim(count, count);
    }

    /// <summary>Bytes of each buffer.</summary>
    public int BufferBytes { get; }

    /// <summary>Buffers in the pool.</summary>
    public int Count { get; }

    /// <summary>Buffers not rented now.</summary>
    public int Available => _free.Count;

    /// <summary>The registration covering every buffer of the pool.</summary>
    public RegisteredBuffer Registration { get; }

    /// <summary>Rents a buffer without waiting; false when none is free.</summary>
    public bool TryRent(out PooledBuffer buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_available.Wait(0) && _free.TryPop(out var b))
        {
            b.MarkRented();
            buffer = b;
            return true;
        }

        buffer = null!;
        return false;
    }

    /// <summary>Rents a buffer, waiting for a return when none is free.</summary>
    public async ValueTask<PooledBuffer> RentAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!_free.TryPop(out var b))
        {
            // The semaphore counts free buffers, so a permit always finds one.
            throw new InvalidOperationException("buffer pool accounting is broken");
        }

        b.MarkRented();
        return b;
    }

    /// <summary>Deregisters and frees the pool. Buffers still rented must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Registration.Dispose();
        _memory.Dispose();
        _available.Dispose();
    }

    internal void Return(PooledBuffer buffer)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _free.Push(buffer);
        _available.Release();
    }
}

/// <summary>A buffer rented from a <see cref="RegisteredBufferPool"/>; dispose to return it (once).</summary>
public sealed class PooledBuffer : IDisposable
{
    private readonly RegisteredBufferPool _pool;
    private int _rented;

    internal PooledBuffer(RegisteredBufferPool pool, RegisteredSlice slice)
    {
        _pool = pool;
        Slice = slice;
    }

    /// <summary>The buffer as a transfer operand.</summary>
    public RegisteredSlice Slice { get; }

    /// <summary>The bytes.</summary>
    public Span<byte> Span => Slice.Span;

    /// <summary>Returns the buffer to the pool. A second dispose does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, 0) == 1)
        {
            _pool.Return(this);
        }
    }

    internal void MarkRented() => Volatile.Write(ref _rented, 1);
}
