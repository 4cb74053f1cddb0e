using System.Net.Sockets;

namespace DataPlane.Interop.Net;

/// <summary>The traffic class of a socket: DSCP through <c>IP_TOS</c> / <c>IPV6_TCLASS</c> and the skb priority through
/// <c>SO_PRIORITY</c>, set with plain setsockopt (<see cref="Socket.SetRawSocketOption"/>; no reflection, NativeAOT-safe).
/// Values from Linux <c>asm-generic/socket.h</c> and <c>in.h</c>/<c>in6.h</c>. Every DataPlane socket that carries
/// a flow class (daemon gRPC listener, agent→GPU channels, transfer connections) goes through here.</summary>
public static class SocketTraffic
{
    /// <summary>SOL_SOCKET.</summary>
    public const int SolSocket = 1;

    /// <summary>SO_PRIORITY: the skb priority the qdisc and the NIC's priority mapping (PFC) use.</summary>
    public const int SoPriority = 12;

    /// <summary>IPPROTO_IP.</summary>
    public const int IpProtoIp = 0;

    /// <summary>IP_TOS: the IPv4 TOS byte (DSCP·4; the kernel keeps the ECN bits for itself on TCP).</summary>
    public const int IpTos = 1;

    /// <summary>IPPROTO_IPV6.</summary>
    public const int IpProtoIpv6 = 41;

    /// <summary>IPV6_TCLASS: the IPv6 traffic class byte.</summary>
    public const int Ipv6TrafficClass = 67;

    /// <summary>Sets the TOS / traffic class byte (<paramref name="trafficClass"/> = DSCP × 4) for the socket's family
    /// (both for a dual-mode IPv6 socket, whose IPv4 peers get IPv4 headers). Returns null, or why the kernel refused.</summary>
    public static string? TrySetTrafficClass(Socket socket, int trafficClass)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return TrySet(socket, IpProtoIpv6, Ipv6TrafficClass, trafficClass, "IPV6_TCLASS")
                ?? (socket.DualMode ? TrySet(socket, IpProtoIp, IpTos, trafficClass, "IP_TOS") : null);
        }

        return TrySet(socket, IpProtoIp, IpTos, trafficClass, "IP_TOS");
    }

    /// <summary>Sets SO_PRIORITY (0..6 without CAP_NET_ADMIN). Returns null, or why the kernel refused.</summary>
    public static string? TrySetPriority(Socket socket, int priority)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return TrySet(socket, SolSocket, SoPriority, priority, "SO_PRIORITY");
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
    public static int ReadPriority(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Get(socket, SolSocket, SoPriority);
    }

    private static string? TrySet(Socket socket, int level, int name, int value, string option)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(bytes, value);
        try
        {
            socket.SetRawSocketOption(level, name, bytes);
            return null;
        }
        catch (SocketException e)
        {
            return $"{option} {value}: {e.Message}";
        }
    }

    private static int Get(Socket socket, int level, int name)
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        int n = socket.GetRawSocketOption(level, name, bytes);
        return n >= sizeof(int) ? BitConverter.ToInt32(bytes) : n > 0 ? bytes[0] : 0;
    }
}
