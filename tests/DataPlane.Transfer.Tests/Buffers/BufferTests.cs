using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Tcp;

namespace DataPlane.Transfer.Tests.Buffers;

public class BufferTests
{
    [Fact]
    public void Allocated_buffers_are_page_aligned_and_zeroed()
    {
        using var buffer = PinnedBuffer.Allocate(10_000);
        Assert.Equal(0, buffer.Address % PinnedBuffer.PageSize);
        Assert.Equal(10_000, buffer.Length);
        Assert.All(buffer.GetSpan().ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_held_buffer_stays_readable_after_dispose_until_released()
    {
        var buffer = PinnedBuffer.Allocate(64);
        buffer.GetSpan()[0] = 42;
        buffer.AddRef();

        buffer.Dispose();

        Assert.True(buffer.IsDisposed);
        Assert.Equal(42, buffer.GetSpan()[0]);
        buffer.Release();
        Assert.Throws<ObjectDisposedException>(() => buffer.GetSpan());
        Assert.False(buffer.TryAddRef());
    }

    [Fact]
    public async Task Pool_rents_every_buffer_once_then_waits_for_a_return()
    {
        var transport = new TcpTransport();
        await using var scope = transport;
        using var pool = new RegisteredBufferPool(transport, bufferBytes: 1000, count: 3);

        Assert.Equal(3 * 1024, transport.RegisteredBytes);
        Assert.True(pool.TryRent(out var a));
        Assert.True(pool.TryRent(out var b));
        Assert.True(pool.TryRent(out var c));
        Assert.False(pool.TryRent(out _));
        Assert.Equal(3, new[] { a.Slice.Address, b.Slice.Address, c.Slice.Address }.Distinct().Count());
        Assert.All(new[] { a, b, c }, x => Assert.Same(pool.Registration, x.Slice.Buffer));

        var waiting = pool.RentAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        b.Dispose();
        b.Dispose();
        var d = await waiting.Within();
        Assert.Equal(b.Slice.Address, d.Slice.Address);
        Assert.Equal(0, pool.Available);
        Assert.False(pool.TryRent(out _));
    }

    [Fact]
    public async Task Disposing_the_pool_deregisters_it()
    {
        var transport = new TcpTransport();
        await using var scope = transport;
        var pool = new RegisteredBufferPool(transport, 4096, 4);
        Assert.Equal(4 * 4096, transport.RegisteredBytes);
        pool.Dispose();
        Assert.Equal(0, transport.RegisteredBytes);
    }

    [Fact]
    public async Task Registration_cache_registers_each_buffer_once()
    {
        var transport = new TcpTransport();
        await using var scope = transport;
        using var a = PinnedBuffer.Allocate(4096);
        using var b = PinnedBuffer.Allocate(4096);
        var cache = new RegistrationCache(transport);

        var first = cache.GetOrRegister(a);
        Assert.Same(first, cache.GetOrRegister(a));
        Assert.NotSame(first, cache.GetOrRegister(b));
        Assert.Equal(2, cache.Misses);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(8192, transport.RegisteredBytes);

        Assert.True(cache.Evict(a));
        Assert.True(first.IsDisposed);
        Assert.Equal(4096, transport.RegisteredBytes);
        Assert.NotSame(first, cache.GetOrRegister(a));

        cache.Dispose();
        Assert.Equal(0, transport.RegisteredBytes);
        Assert.Throws<ObjectDisposedException>(() => cache.GetOrRegister(a));
    }

    [Fact]
    public void Remote_region_encodes_in_twenty_bytes_and_checks_ranges()
    {
        var region = new RemoteRegion(0x1234_5678_9abc, 4096, 0xfeed);
        Span<byte> bytes = stackalloc byte[RemoteRegion.EncodedLength];
        region.WriteTo(bytes);
        Assert.Equal(region, RemoteRegion.ReadFrom(bytes));

        Assert.True(region.Contains(0, 4096));
        Assert.True(region.Contains(4096, 0));
        Assert.False(region.Contains(1, 4096));
        Assert.False(region.Contains(ulong.MaxValue, 2));
    }

    [Fact]
    public async Task Slices_outside_their_buffer_are_refused()
    {
        var transport = new TcpTransport();
        await using var scope = transport;
        using var memory = PinnedBuffer.Allocate(100);
        using var registered = transport.Register(memory, RegionAccess.All);
        Assert.Throws<ArgumentOutOfRangeException>(() => registered.Slice(50, 51));
        Assert.Throws<ArgumentOutOfRangeException>(() => registered.Slice(-1, 1));
        Assert.Equal(100, registered.Slice(0, 100).Length);
    }
}
