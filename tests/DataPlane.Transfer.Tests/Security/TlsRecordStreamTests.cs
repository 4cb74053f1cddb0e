using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Security;

namespace DataPlane.Transfer.Tests.Security;

/// <summary>The stream under the TLS stack, over a real socket pair.</summary>
public sealed class TlsRecordStreamTests
{
    /// <summary>SslStream reads zero bytes from its inner stream before each TLS record to wait for data without holding
    /// a buffer. Bytes already read ahead are such data: waiting on the socket instead would stall a connection whose
    /// peer waits for an answer to what is already here.</summary>
    [Fact]
    public async Task A_zero_byte_read_returns_at_once_while_bytes_read_ahead_are_waiting()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var writer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await writer.ConnectAsync(listener.LocalEndPoint!).Within();
        using var reader = await listener.AcceptAsync().Within();
        await using var stream = new TlsRecordStream(new NetworkStream(reader, ownsSocket: false)) { Passthrough = true, Coalesce = true };
        await writer.SendAsync(new byte[100]).Within();

        byte[] first = new byte[10];
        int read = await stream.ReadAsync(first).AsTask().Within();
        var zeroByteRead = stream.ReadAsync(Memory<byte>.Empty).AsTask();

        Assert.InRange(read, 1, 10);
        Assert.True(zeroByteRead.IsCompleted, "a zero-byte read waited on the socket although read-ahead bytes were there");
        Assert.Equal(0, await zeroByteRead);
        Assert.Equal(100 - read, await ReadAllAsync(stream, 100 - read));
    }

    private static async Task<int> ReadAllAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        int total = 0;
        while (total < count)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total)).AsTask().Within();
            Assert.NotEqual(0, n);
            total += n;
        }

        return total;
    }
}
