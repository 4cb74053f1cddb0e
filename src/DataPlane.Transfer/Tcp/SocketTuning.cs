using System.Net.Sockets;
using DataPlane.Interop.Net;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Tcp;

/// <summary>Socket options of transfer sockets: TCP_NODELAY, keep-alive, and the flow class's DSCP and priority
/// (through <see cref="SocketTraffic"/>, shared with the daemon's and agent's gRPC sockets).</summary>
public static class SocketTuning
{
    /// <summary>Sets TCP_NODELAY, keep-alive (a dead peer is noticed within about a minute even when idle),
    /// DSCP and, when the class names one, the socket priority. A refused priority or DSCP is logged, not
    /// thrown: a transfer without its priority is better than none.</summary>
    public static void Apply(Socket socket, FlowClass flowClass, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(flowClass);
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 6);
        Report(SocketTraffic.TrySetTrafficClass(socket, flowClass.TrafficClass), logger);
        if (flowClass.SocketPriority is { } priority)
        {
            Report(SocketTraffic.TrySetPriority(socket, priority), logger);
        }
    }

    /// <summary>The TOS / traffic class byte the socket sends with.</summary>
    public static int ReadTrafficClass(Socket socket) => SocketTraffic.ReadTrafficClass(socket);

    /// <summary>The socket's SO_PRIORITY.</summary>
    public static int ReadPriority(Socket socket) => SocketTraffic.ReadPriority(socket);

    private static void Report(string? problem, ILogger? logger)
    {
        if (problem is not null && logger is not null)
        {
            TransferLog.SocketOptionFailed(logger, problem);
        }
    }
}
