namespace DataPlane.Transfer.Abstractions;

/// <summary>A message received from a peer's SEND. The payload lives in a transport buffer (an RDMA receive
/// buffer, a pooled array on TCP) until the message is disposed, which gives the buffer back (RDMA re-posts it):
/// dispose every message, promptly.</summary>
public abstract class TransferMessage : IDisposable
{
    private int _disposed;

    /// <summary>The bytes of the message; valid until disposed.</summary>
    public abstract ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gives the buffer back. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Returns the buffer to its transport (called once).</summary>
    protected abstract void Release();
}
