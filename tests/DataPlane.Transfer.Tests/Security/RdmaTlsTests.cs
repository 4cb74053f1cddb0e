using System.Net;
using DataPlane.Interop.Verbs;
using DataPlane.Testing;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Rdma;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using DataPlane.Transfer.Tests.Rdma;
using Prometheus;

namespace DataPlane.Transfer.Tests.Security;

/// <summary>Mutual TLS on the RDMA transport's control connection, through the fake libibverbs.</summary>
[Collection(FakeVerbs.Collection)]
public sealed class RdmaTlsTests : IDisposable
{
    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _server;
    private readonly PeerIdentity _client;

    public RdmaTlsTests()
    {
        _server = _pki.Issue("gpu-a.test");
        _client = _pki.Issue("gpu-b.test");
    }

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Authenticated_peers_move_data_over_rdma_with_credits_inside_tls()
    {
        using var scope = FakeVerbs.Use();
        await using var server = RdmaTransportTests.Open();
        await using var client = RdmaTransportTests.Open();
        using var region = TestSupport.Region(server, 1 << 20, seed: 7);
        using var local = TestSupport.Region(client, 1 << 20, seed: 3);
        await using var listener = server.Listen(new IPEndPoint(IPAddress.Loopback, 0),
            new ConnectionSettings { Security = Tls.For(_pki, _server, allowed: ["gpu-b.test"]), LocalName = "gpu-a.test", ExposedRegion = region });
        var accept = listener.AcceptAsync().AsTask();

        await using var connection = await client.ConnectAsync(listener.LocalEndPoint,
            new ConnectionSettings { Security = Tls.For(_pki, _client), LocalName = "gpu-b.test", ExpectedPeerName = "gpu-a.test" }).Within();
        await using var accepted = await accept.Within();

        await connection.WriteAsync(local.Slice(0, 100_000), connection.PeerRegion!.Value, 0).Within();
        Assert.True(region.Span[..100_000].SequenceEqual(local.Span[..100_000]));
        // More SENDs than the receive depth: credits must come back over the TLS control connection.
        for (int i = 0; i < 200; i++)
        {
            var send = connection.SendAsync(new byte[] { (byte)i });
            using var message = await accepted.ReceiveAsync().AsTask().Within();
            Assert.Equal((byte)i, message.Payload.Span[0]);
            await send.Within();
        }

        Assert.Equal(("gpu-a.test", "gpu-b.test"), (connection.PeerName, accepted.PeerName));
        Assert.Equal(ConnectionProtection.Authenticated, connection.Protection);
        Assert.Equal(ConnectionProtection.Authenticated, accepted.Protection);
    }

    [Fact]
    public async Task Queue_pairs_are_created_only_for_authenticated_and_allowed_peers()
    {
        // The first queue pair of this process to enter INIT fails. Three refused peers come first; had the listener
        // created a queue pair for any of them, it would have taken that failure. The valid peer that follows must get it.
        using var scope = FakeVerbs.Use(failModifyInto: QueuePairState.Init);
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        await using var server = RdmaTransportTests.Open(metrics);
        await using var listener = server.Listen(new IPEndPoint(IPAddress.Loopback, 0),
            new ConnectionSettings { Security = Tls.For(_pki, _server, allowed: ["gpu-b.test"]), LocalName = "gpu-a.test" });
        // The refused peers speak TCP, which creates no queue pair on their side either.
        await using var tcp = new TcpTransport();
        var intruder = _pki.Issue("gpu-b.test", foreign: true);
        var stranger = _pki.Issue("gpu-c.test");

        await Assert.ThrowsAsync<TransferException>(() => tcp.ConnectAsync(listener.LocalEndPoint, new ConnectionSettings { LocalName = "gpu-b.test" })).Within();
        await Assert.ThrowsAsync<TransferException>(() => tcp.ConnectAsync(listener.LocalEndPoint,
            new ConnectionSettings { Security = Tls.For(_pki, intruder), LocalName = "gpu-b.test", ExpectedPeerName = "gpu-a.test" })).Within();
        await Assert.ThrowsAsync<TransferException>(() => tcp.ConnectAsync(listener.LocalEndPoint,
            new ConnectionSettings { Security = Tls.For(_pki, stranger), LocalName = "gpu-c.test", ExpectedPeerName = "gpu-a.test" })).Within();

        foreach (string reason in (string[])[AuthFailures.Plaintext, AuthFailures.UntrustedCertificate, AuthFailures.PeerNotAllowed])
        {
            Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_auth_failures_total", ("direction", "in"), ("reason", reason)));
        }

        Assert.Equal(0, await TestSupport.SampleAsync(registry, "dataplane_transfer_handshake_failures_total", ("stage", "init")));
        await using var client = RdmaTransportTests.Open();
        var settings = new ConnectionSettings { Security = Tls.For(_pki, _client), LocalName = "gpu-b.test", ExpectedPeerName = "gpu-a.test" };
        var failed = await Assert.ThrowsAsync<TransferException>(() => client.ConnectAsync(listener.LocalEndPoint, settings)).Within();
        Assert.Equal(HandshakeStage.Init, failed.Stage);

        var accept = listener.AcceptAsync().AsTask();
        await using var connection = await client.ConnectAsync(listener.LocalEndPoint, settings).Within();
        await using var accepted = await accept.Within();
        Assert.Equal(QueuePairState.ReadyToSend, ((RdmaConnection)accepted).QueuePair.QueryState());
    }
}
