using System.Net;
using System.Net.Sockets;

namespace DataPlane.Testing;

/// <summary>Ports for servers a test starts and then tells its clients about.</summary>
public static class FreePorts
{
    private const int Lowest = 10000;
    private static readonly HashSet<int> s_given = [];
    private static readonly int s_below = EphemeralLow();

    /// <summary>A loopback TCP port nothing listens on, handed out once per test process. It lies below the
    /// kernel's ephemeral range: a port from that range (what binding port 0 returns) can be taken by any
    /// outgoing connection or port-0 bind of another process between this call and the caller's own bind, which
    /// on a busy machine running tests in parallel happens.</summary>
    public static int Next()
    {
        lock (s_given)
        {
            for (int attempt = 0; attempt < 2000; attempt++)
            {
                int port = Random.Shared.Next(Lowest, s_below);
                if (!s_given.Contains(port) && CanListen(port))
                {
                    s_given.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no free loopback port between {Lowest} and {s_below}");
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of net.ipv4.ip_local_port_range (32768 by default), kept above 20000 so there is
    /// room to choose from.</summary>
    private static int EphemeralLow()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return Math.Max(20000, int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }
}
