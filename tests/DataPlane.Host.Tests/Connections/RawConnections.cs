using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.Host.Tests.Connections;

/// <summary>Bare TCP connections as a flood opens them: connect, optionally send a few bytes (the HTTP/2 client
/// preface, 24 bytes, as the 20,000-connection attack did), then hold the socket. Disposing closes them all.</summary>
public sealed class RawConnections : IDisposable
{
    /// <summary>The HTTP/2 connection preface (RFC 9113, 3.4), what a prior-knowledge h2c client sends first.</summary>
    public static readonly byte[] Http2Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    private readonly List<Socket> _sockets = [];

    public int Count => _sockets.Count;

    /// <summary>Connects to <paramref name="endPoint"/> and sends <paramref name="first"/> (if any).</summary>
    public async Task<Socket> OpenAsync(IPEndPoint endPoint, byte[]? first = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(socket);
        await socket.ConnectAsync(endPoint);
        if (first is { Length: > 0 })
        {
            await socket.SendAsync(first, SocketFlags.None);
        }

        return socket;
    }

    /// <summary>Completes when the server has closed <paramref name="socket"/> (end of stream or reset), reading and
    /// discarding anything it sent first (an HTTP/2 server's SETTINGS and GOAWAY); fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitClosedByServerAsync(Socket socket, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset: closed as well.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{what}: the server kept the connection open for {timeout}");
        }
    }

    /// <summary>Closes one connection (the server sees it go).</summary>
    public void Close(Socket socket)
    {
        _sockets.Remove(socket);
        socket.Dispose();
    }

    public void Dispose()
    {
        foreach (var s in _sockets)
        {
            s.Dispose();
        }

        _sockets.Clear();
    }
}
