using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Buffers;

/// <summary>Registers each pinned buffer with a transport once and hands out the same registration afterwards:
/// RDMA registration pins pages and programs the NIC's translation tables (tens of microseconds to
/// milliseconds), far too slow per transfer. Keyed by the buffer object, so a buffer freed and allocated again
/// at the same address is never confused with the old one (the trap address-keyed caches need memory hooks
/// for). Thread-safe. Disposing deregisters everything it registered.</summary>
public sealed class RegistrationCache : IDisposable
{
    private readonly ITransport _transport;
    private readonly RegionAccess _access;
    private readonly Dictionary<PinnedBuffer, RegisteredBuffer> _entries = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();
    private long _hits;
    private long _misses;
    private bool _disposed;

    /// <summary>Creates a cache registering with <paramref name="transport"/> and <paramref name="access"/>.</summary>
    public RegistrationCache(ITransport transport, RegionAccess access = RegionAccess.All)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _access = access;
    }

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that registered.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Buffers currently registered through the cache.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The registration of <paramref name="memory"/>, registering it on first use.</summary>
    public RegisteredBuffer GetOrRegister(PinnedBuffer memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(memory, out var hit) && !hit.IsDisposed)
            {
                _hits++;
                return hit;
            }

            var registered = _transport.Register(memory, _access);
            _entries[memory] = registered;
            _misses++;
            return registered;
        }
    }

    /// <summary>Deregisters <paramref name="memory"/> (call before freeing it). Returns false when it was not cached.</summary>
    public bool Evict(PinnedBuffer memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        RegisteredBuffer? entry;
        lock (_lock)
        {
            if (!_entries.Remove(memory, out entry))
            {
                return false;
            }
        }

        entry.Dispose();
        return true;
    }

    /// <summary>Deregisters every cached buffer.</summary>
    public void Dispose()
    {
        RegisteredBuffer[] all;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            all = [.. _entries.Values];
            _entries.Clear();
        }

        foreach (var entry in all)
        {
            entry.Dispose();
        }
    }
}
