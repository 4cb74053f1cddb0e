using DataPlane.Transfer.Buffers;

namespace DataPlane.Transfer.Abstractions;

/// <summary>A <see cref="PinnedBuffer"/> registered with one transport: for RDMA a memory region
/// (<c>ibv_mr</c>: lkey for local work requests, rkey for peers); for TCP an entry in the transport's region
/// table whose token plays the rkey. Each transport derives its own kind. Disposing deregisters (the memory
/// itself stays with its <see cref="PinnedBuffer"/> owner); peers using the old key then get
/// <see cref="TransferStatus.RemoteAccessError"/>.</summary>
public abstract class RegisteredBuffer : IDisposable
{
    private int _disposed;

    /// <summary>Creates the registration of <paramref name="memory"/>.</summary>
    protected RegisteredBuffer(PinnedBuffer memory, RegionAccess access, uint localKey, uint remoteKey)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Memory = memory;
        Access = access;
        LocalKey = localKey;
        RemoteKey = remoteKey;
    }

    /// <summary>The transport that registered the buffer.</summary>
    public abstract TransportKind Kind { get; }

    /// <summary>The registered memory.</summary>
    public PinnedBuffer Memory { get; }

    /// <summary>What the registration allows.</summary>
    public RegionAccess Access { get; }

    /// <summary>Key for local work requests (RDMA lkey; 0 on TCP).</summary>
    public uint LocalKey { get; }

    /// <summary>Key peers present to access the region (RDMA rkey; the TCP region token).</summary>
    public uint RemoteKey { get; }

    /// <summary>Address of the first byte.</summary>
    public nint Address => Memory.Address;

    /// <summary>Length in bytes.</summary>
    public int Length => Memory.Length;

    /// <summary>The bytes.</summary>
    public Span<byte> Span => Memory.GetSpan();

    /// <summary>True once deregistered.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The whole buffer as a transfer operand.</summary>
    public RegisteredSlice AsSlice() => new(this, 0, Length);

    /// <summary>Part of the buffer as a transfer operand.</summary>
    public RegisteredSlice Slice(int offset, int length) => new(this, offset, length);

    /// <summary>How a peer names this region (send it in the handshake or in a message).</summary>
    public RemoteRegion ToRemoteRegion() => new((ulong)Address, (ulong)Length, RemoteKey);

    /// <summary>Deregisters. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Undoes the registration (called once).</summary>
    protected abstract void Release();
}

/// <summary>A byte range of a registered buffer: the local operand of a transfer (RDMA: one scatter/gather
/// entry {address, length, lkey}).</summary>
public readonly record struct RegisteredSlice
{
    /// <summary>Creates a slice, checking that it lies inside <paramref name="buffer"/>.</summary>
    public RegisteredSlice(RegisteredBuffer buffer, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if ((uint)offset > (uint)buffer.Length || (uint)length > (uint)(buffer.Length - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"slice {offset}+{length} is outside the {buffer.Length}-byte buffer");
        }

        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The registered buffer.</summary>
    public RegisteredBuffer Buffer { get; }

    /// <summary>Offset of the first byte in <see cref="Buffer"/>.</summary>
    public int Offset { get; }

    /// <summary>Length in bytes.</summary>
    public int Length { get; }

    /// <summary>Address of the first byte.</summary>
    public nint Address => Buffer.Address + Offset;

    /// <summary>The bytes.</summary>
    public Span<byte> Span => Buffer.Span.Slice(Offset, Length);

    /// <summary>The bytes as <see cref="Memory{T}"/>.</summary>
    public Memory<byte> Memory => Buffer.Memory.Memory.Slice(Offset, Length);
}
