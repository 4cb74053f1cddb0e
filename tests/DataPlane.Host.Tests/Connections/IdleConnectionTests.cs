using System.Diagnostics;
using System.Net;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;

namespace DataPlane.Host.Tests.Connections;

/// <summary>Connections that hold no request or stream are closed after Listen:Limits:IdleTimeoutSeconds, on every
/// listener and whatever they sent (nothing, the HTTP/2 preface); a client whose idle connection was closed simply
/// reconnects on its next call.</summary>
public class IdleConnectionTests
{
    [Fact]
    public async Task Idle_connections_are_closed_after_the_idle_timeout_and_clients_reconnect()
    {
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?> { ["Listen:Limits:IdleTimeoutSeconds"] = "1" });
        var grpcEndPoint = new IPEndPoint(IPAddress.Loopback, h.Daemon.GrpcAddress.Port);
        var httpEndPoint = new IPEndPoint(IPAddress.Loopback, h.Daemon.HttpAddress.Port);
        using var idle = new RawConnections();
        var opened = Stopwatch.StartNew();
        var h2c = await idle.OpenAsync(grpcEndPoint, RawConnections.Http2Preface);
        var silentGrpc = await idle.OpenAsync(grpcEndPoint);
        var silentHttp = await idle.OpenAsync(httpEndPoint);

        // Kestrel checks timeouts once a second: 1 s of idleness closes them within about 2 s; 20 s is a wide margin
        // for a busy machine, far below the 130 s they would be held by default.
        await Task.WhenAll(
            RawConnections.WaitClosedByServerAsync(h2c, TimeSpan.FromSeconds(20), "an idle h2c connection"),
            RawConnections.WaitClosedByServerAsync(silentGrpc, TimeSpan.FromSeconds(20), "a silent connection to the gRPC listener"),
            RawConnections.WaitClosedByServerAsync(silentHttp, TimeSpan.FromSeconds(20), "a silent connection to the HTTP listener"));
        Assert.True(opened.Elapsed >= TimeSpan.FromSeconds(0.9), $"closed after {opened.Elapsed}, before the idle timeout");
        Assert.Equal(0, h.Daemon.Connections["grpc"].Refused);
        Assert.Equal(0, h.Daemon.Connections["http"].Refused);

        // The harness's own gRPC connection idles out too; its next call opens a new one without an error.
        long acceptedBefore = h.Daemon.Connections["grpc"].Accepted; // the harness's connection and the two above
        await Eventually.TrueAsync(() => Task.FromResult(h.Daemon.Connections["grpc"].Open == 0), TimeSpan.FromSeconds(20),
            "every gRPC connection closed as idle");
        var reply = await h.Client.ModelInferAsync(Tensors.Simple(1, 2f), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Single(reply.Outputs);
        Assert.True(h.Daemon.Connections["grpc"].Accepted > acceptedBefore, "the call after the idle close came on a new connection");
    }
}
