using System.Net;
using DataPlane.Hosting.Listeners;
using DataPlane.Interop.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DataPlane.Host.Tests;

/// <summary>A listener with a DSCP marks every connection it accepts (what Listen:GrpcDscp does for the daemon).</summary>
public class ListenerTrafficClassTests
{
    [Theory]
    [InlineData(46)]
    [InlineData(null)]
    public async Task Accepted_connections_carry_the_listener_s_dscp(int? dscp)
    {
        var builder = WebApplication.CreateSlimBuilder();
        BoundListener? bound = null;
        builder.WebHost.ConfigureKestrel(k =>
            bound = ListenerSetup.Listen(k, new ListenerOptions("test", new IPEndPoint(IPAddress.Loopback, 0), HttpProtocols.Http1) { Dscp = dscp }));
        await using var app = builder.Build();
        app.MapGet("/tos", (HttpContext context) =>
            SocketTraffic.ReadTrafficClass(context.Features.Get<IConnectionSocketFeature>()!.Socket).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await app.StartAsync();

        using var http = new HttpClient();
        string tos = await http.GetStringAsync(new Uri(bound!.Url, "/tos"));

        Assert.Equal(((dscp ?? 0) << 2).ToString(System.Globalization.CultureInfo.InvariantCulture), tos);
        await app.StopAsync();
    }
}
