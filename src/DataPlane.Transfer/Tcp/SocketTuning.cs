using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Tcp;

/// <summary>Socket options of transfer sockets, set with <see cref="Socket.SetRawSocketOption"/> (plain
/// setsockopt, no reflection: NativeAOT-safe). Values from Linux <c>asm-generic/socket.h</c> and <c>in.h</c>.</summary>
public static class SocketTuning
{
    /// <summary>SOL_SOCKET.</summary>
    public const int SolSocket = 1;

    /// <summary>SO_PRIORITY: the skb priority the qdisc and the NIC's priority mapping (PFC) use.</summary>
    public const int SoPriority = 12;

    /// <summary>IPPROTO_IP.</summary>
    public const int IpProtoIp = 0;

    /// <summary>IP_TOS: the IPv4 TOS byte (DSCP·4; the kernel keeps ECN bits for itself on TCP).</summary>
    public const int IpTos = 1;

    /// <summary>IPPROTO_IPV6.</summary>
    public const int IpProtoIpv6 = 41;

    /// <summary>IPV6_TCLASS: the IPv6 traffic class byte.</summary>
    public const int Ipv6TrafficClass = 67;

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

        int tos = flowClass.TrafficClass;
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            TrySet(socket, IpProtoIpv6, Ipv6TrafficClass, tos, "IPV6_TCLASS", logger);
            if (socket.DualMode)
            {
                // IPv4 peers of a dual-mode socket are reached with IPv4 headers, which take IP_TOS.
                TrySet(socket, IpProtoIp, IpTos, tos, "IP_TOS", logger);
            }
        }
        else
        {
            TrySet(socket, IpProtoIp, IpTos, tos, "IP_TOS", logger);
        }

        if (flowClass.SocketPriority is { } priority)
        {
            TrySet(socket, SolSocket, SoPriority, priority, "SO_PRIORITY", logger);
        }
    }

    /// <summary>The TOS / traffic class byte the socket sends with.</summary>
    public static int ReadTrafficClass(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return socket.AddressFamily == AddressFamily.InterNetworkV6
            ? Get(socket, IpProtoIpv6, Ipv6TrafficClass)
            : Get(socket, IpProtoIp, IpTos);
    }

    /// <summary>The socket's SO_PRIORITY.</summary>
    public static int ReadPriority(Socket socket) => Get(socket, SolSocket, SoPriority);

    private static void TrySet(Socket socket, int level, int name, int value, string option, ILogger? logger)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(bytes, value);
        try
        {
            socket.SetRawSocketOption(level, name, bytes);
        }
        catch (SocketException e)
        {
            if (logger is not null)
            {
                TransferLog.SocketOptionFailed(logger, option, value, e.Message);
            }
        }
    }

    private static int Get(Socket socket, int level, int name)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        int n = socket.GetRawSocketOption(level, name, bytes);
        return n >= sizeof(int) ? BitConverter.ToInt32(bytes) : n > 0 ? bytes[0] : 0;
    }
}
