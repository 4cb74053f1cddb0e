using System.Net;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Grpc.Net.Client;

namespace DataPlane.Host.Tests.Connections;

/// <summary>Finding 3 on the real daemon: idle h2c connections (the 24-byte preface, nothing more) flood the gRPC
/// listener up to its cap. One more is closed at once and counted; the client that was already connected keeps
/// getting answers, the HTTP and admin listeners keep answering, and the places come back when the flood goes.</summary>
public class DaemonConnectionFloodTests
{
    private const int Cap = 24;

    [Fact]
    public async Task A_flood_at_the_grpc_cap_leaves_the_operator_and_connected_clients_served()
    {
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Listen:Limits:MaxConnections:Grpc"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Nothing here may idle out on a slow machine: the client connected before the flood must stay connected.
            ["Listen:Limits:IdleTimeoutSeconds"] = "600",
        });
        var grpc = h.Daemon.Connections["grpc"];
        var endPoint = new IPEndPoint(IPAddress.Loopback, h.Daemon.GrpcAddress.Port);
        Assert.Equal(Cap, grpc.Limit);
        int established = grpc.Open; // the harness's client, connected by its readiness call
        Assert.True(established >= 1);

        using var flood = new RawConnections();
        for (int i = established; i < Cap; i++)
        {
            await flood.OpenAsync(endPoint, RawConnections.Http2Preface);
        }

        await Eventually.TrueAsync(() => Task.FromResult(grpc.Open == Cap), TimeSpan.FromSeconds(20), $"{Cap} connections held");
        Assert.Equal(0, grpc.Refused);

        // One more: closed at once, counted.
        var extra = await flood.OpenAsync(endPoint, RawConnections.Http2Preface);
        await RawConnections.WaitClosedByServerAsync(extra, TimeSpan.FromSeconds(10), "a connection over the gRPC cap");
        Assert.Equal(1, grpc.Refused);

        // A new client cannot get in while the flood holds the cap…
        using (var newcomer = GrpcChannel.ForAddress(h.Daemon.GrpcAddress))
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(newcomer);
            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                client.ServerLiveAsync(new ServerLiveRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            // Unavailable when the channel gives up on the closed connection, DeadlineExceeded if it kept retrying, and
            // Internal "Error starting gRPC call" when the close came while SocketsHttpHandler waited for the server's
            // HTTP/2 settings (seen on a starved machine): each is the connection being refused.
            Assert.True(
                refused.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
                    || (refused.StatusCode == StatusCode.Internal && refused.Status.Detail.Contains("HTTP/2 connection could not be established", StringComparison.Ordinal)),
                refused.ToString());
        }

        // …but the client that was connected before is answered, with a real inference.
        var reply = await h.Client.ModelInferAsync(Tensors.Simple(2, 1.5f), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(2, reply.Outputs[0].Shape[0]);

        // The operator's listener and the other data listener are untouched by the gRPC flood.
        using (var healthz = await h.Admin.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }

        using (var ready = await h.Http.GetAsync("/v2/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        string metrics = await h.MetricsTextAsync();
        Assert.Contains($"dataplane_connections_open{{listener=\"grpc\"}} {Cap}\n", metrics);
        Assert.Contains($"dataplane_connections_limit{{listener=\"grpc\"}} {Cap}\n", metrics);
        Assert.Matches("dataplane_connections_refused_total\\{listener=\"grpc\"\\} [1-9]", metrics);
        Assert.Contains("dataplane_connections_refused_total{listener=\"admin\"} 0\n", metrics);
        Assert.Contains("dataplane_connections_refused_total{listener=\"http\"} 0\n", metrics);
        Assert.Contains("dataplane_connections_refused_total{listener=\"transfer\"} 0\n", metrics);
        Assert.Matches("dataplane_connections_accepted_total\\{listener=\"grpc\"\\} [1-9]", metrics);
        Assert.Matches("process_max_fds [1-9]", metrics);

        // The flood goes: its places come back and a new client gets in.
        flood.Dispose();
        await Eventually.TrueAsync(() => Task.FromResult(grpc.Open == established), TimeSpan.FromSeconds(20), "the flood's places released");
        using var after = GrpcChannel.ForAddress(h.Daemon.GrpcAddress);
        var live = await new GRPCInferenceService.GRPCInferenceServiceClient(after)
            .ServerLiveAsync(new ServerLiveRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.True(live.Live);
    }
}
