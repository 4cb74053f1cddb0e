using System.Net;
using System.Net.Sockets;
using DataPlane.Edge.Gpu;
using DataPlane.Interop.Net;

namespace DataPlane.Edge.Tests.Gpu;

public class GpuTrafficClassTests
{
    [Fact]
    public async Task Connections_to_the_gpu_hosts_carry_the_configured_dscp()
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var accept = listener.AcceptAsync();

        await using var stream = (NetworkStream)await GpuPool.ConnectWithTrafficClassAsync(new DnsEndPoint("127.0.0.1", port), 46 << 2, CancellationToken.None);
        using var accepted = await accept.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(46 << 2, SocketTraffic.ReadTrafficClass(stream.Socket));
        Assert.True(stream.Socket.NoDelay);
    }
}
