using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;

namespace DataPlane.Host.Tests;

/// <summary>Spillover between two real daemons over the transfer engine (TCP on loopback, mutual TLS with host
/// certificates from a test CA): a host whose only instance is busy sends whole batches to its peer, and every client
/// still gets its own answer.</summary>
public sealed class SpilloverTests : IDisposable
{
    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _peerHost;
    private readonly PeerIdentity _originHost;

    public SpilloverTests()
    {
        _peerHost = _pki.Issue("gpu-a.test");
        _originHost = _pki.Issue("gpu-b.test");
    }

    public void Dispose() => _pki.Dispose();

    private Dictionary<string, string?> Tls(PeerIdentity host) => new()
    {
        ["Transfer:Tls:Certificate"] = host.CertificatePath,
        ["Transfer:Tls:Key"] = host.KeyPath,
        ["Transfer:Tls:ClientCa"] = _pki.CaPath,
    };

    private Dictionary<string, string?> Peer(string allowed, string encryption = "tls") => new(Tls(_peerHost))
    {
        ["Transfer:Listen"] = "127.0.0.1:0",
        ["Transfer:Transport"] = "tcp",
        ["Transfer:AllowedPeers:0"] = allowed,
        ["Transfer:Encryption"] = encryption,
        [NoQueueTimeBound] = "0",
    };

    /// <summary>No queue-time bound on either host (default 1 s): on a starved machine a request may wait longer behind
    /// the slow model and failed spill attempts, and these tests are about where batches run, not about overload. The
    /// calls' own 60 s deadline still holds.</summary>
    private const string NoQueueTimeBound = "Batching:Models:slow:MaxQueueTimeMs";

    private Dictionary<string, string?> Origin(int peerPort, string encryption = "tls") => new(Tls(_originHost))
    {
        ["Batching:Models:slow:SpillQueueThreshold"] = "2",
        ["Batching:Models:slow:PipelineDepth"] = "0",
        ["Transfer:Transport"] = "tcp",
        ["Transfer:Peers:0"] = $"gpu-a.test@127.0.0.1:{peerPort}",
        ["Transfer:PeerCooldownSeconds"] = "30",
        ["Transfer:Encryption"] = encryption,
        [NoQueueTimeBound] = "0",
    };

    [Theory]
    [InlineData("tls")]
    [InlineData("none")]
    public async Task A_busy_host_spills_batches_to_its_peer_and_every_request_gets_its_own_answer(string encryption)
    {
        await using var peer = await DaemonHarness.StartAsync(Peer("gpu-b.test", encryption), SlowModels.With(baseMs: 20));
        int peerPort = peer.Daemon.TransferAddress!.Port;
        await using var origin = await DaemonHarness.StartAsync(Origin(peerPort, encryption), SlowModels.With(baseMs: 100));

        var answers = await Task.WhenAll(Enumerable.Range(0, 48).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        Assert.Equal(48, answers.Select(a => a.Response.Id).Distinct().Count());
        string metrics = await origin.MetricsTextAsync();
        // The peer is known by its certificate name.
        double spilled = Sample(metrics, "dataplane_spilled_batches_total{model=\"slow\",peer=\"gpu-a.test\"}");
        Assert.True(spilled > 0, "no batch was spilled:\n" + metrics);
        Assert.DoesNotContain("peer=\"failed\"", metrics, StringComparison.Ordinal);
        // The peer ran them through its own batcher and Triton.
        var stats = await peer.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.True(stats.ModelStats[0].ExecutionCount > 0);
        Assert.Contains("dataplane_transfer_peer_transport", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_the_peer_is_gone_spilled_batches_come_home_and_still_get_answered()
    {
        // A peer address nobody listens on: every spill attempt fails, the batch is requeued and runs locally.
        int nobody = DaemonHarness.FreePort();
        await using var origin = await DaemonHarness.StartAsync(Origin(nobody), SlowModels.With(baseMs: 30));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        string metrics = await origin.MetricsTextAsync();
        Assert.True(Sample(metrics, "dataplane_spilled_batches_total{model=\"slow\",peer=\"failed\"}") >= 1, metrics);
        Assert.Contains("dataplane_spill_peer_up{peer=\"gpu-a.test\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_whose_certificate_name_is_not_allowed_cannot_spill_here_and_its_batches_run_at_home()
    {
        await using var peer = await DaemonHarness.StartAsync(Peer("gpu-c.test"), SlowModels.With(baseMs: 20));
        int peerPort = peer.Daemon.TransferAddress!.Port;
        await using var origin = await DaemonHarness.StartAsync(Origin(peerPort), SlowModels.With(baseMs: 30));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        var stats = await peer.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.Equal(0UL, stats.ModelStats[0].ExecutionCount); // the peer ran nothing
        Assert.True(Sample(await origin.MetricsTextAsync(), "dataplane_spilled_batches_total{model=\"slow\",peer=\"failed\"}") >= 1);
        // Refused inside TLS on the peer (its certificate is valid, its name not allowed) and told so on the origin.
        Assert.True(Sample(await peer.MetricsTextAsync(), "dataplane_transfer_auth_failures_total{direction=\"in\",reason=\"peer_not_allowed\"}") >= 1);
        Assert.True(Sample(await origin.MetricsTextAsync(), "dataplane_transfer_auth_failures_total{direction=\"out\",reason=\"peer_not_allowed\"}") >= 1);
    }

    [Fact]
    public async Task A_peer_whose_certificate_is_revoked_cannot_spill_here_and_its_batches_run_at_home()
    {
        await using var peer = await DaemonHarness.StartAsync(new Dictionary<string, string?>(Peer("gpu-b.test"))
        {
            ["Transfer:Tls:Crl"] = _pki.WriteCrl("transfer.crl", _originHost),
        }, SlowModels.With(baseMs: 20));
        await using var origin = await DaemonHarness.StartAsync(Origin(peer.Daemon.TransferAddress!.Port), SlowModels.With(baseMs: 30));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        var stats = await peer.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.Equal(0UL, stats.ModelStats[0].ExecutionCount);
        string metrics = await peer.MetricsTextAsync();
        Assert.True(Sample(metrics, "dataplane_transfer_auth_failures_total{direction=\"in\",reason=\"revoked\"}") >= 1, metrics);
        Assert.True(Sample(metrics, "dataplane_tls_revoked_handshakes_total{tls=\"transfer\"}") >= 1, metrics);
        Assert.Contains("dataplane_tls_crl_revoked_certificates{tls=\"transfer\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transfer_connections_count_against_the_transfer_listeners_connection_cap()
    {
        await using var peer = await DaemonHarness.StartAsync(new Dictionary<string, string?>(Peer("gpu-b.test"))
        {
            ["Listen:Limits:MaxConnections:Transfer"] = "1",
        }, SlowModels.With(baseMs: 20));
        await using var origin = await DaemonHarness.StartAsync(Origin(peer.Daemon.TransferAddress!.Port), SlowModels.With(baseMs: 100));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        var transfer = peer.Daemon.Connections["transfer"];
        Assert.Equal(1, transfer.Limit);
        Assert.True(Sample(await origin.MetricsTextAsync(), "dataplane_spilled_batches_total{model=\"slow\",peer=\"gpu-a.test\"}") > 0, "nothing spilled");
        Assert.Equal(1, transfer.Open); // the origin's connection, kept open for the next spill
        // A second connection while the origin's is open is closed at once.
        using (var extra = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await extra.ConnectAsync(peer.Daemon.TransferAddress!);
            var buffer = new byte[16];
            Assert.Equal(0, await extra.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.True(transfer.Refused >= 1);
        Assert.True(Sample(await peer.MetricsTextAsync(), "dataplane_connections_refused_total{listener=\"transfer\"}") >= 1);
    }

    [Fact]
    public async Task A_peer_listening_with_a_certificate_of_another_name_gets_no_batches()
    {
        // The origin expects gpu-a.test at this address; the host there presents gpu-c.test's certificate.
        var impostor = _pki.Issue("gpu-c.test");
        await using var peer = await DaemonHarness.StartAsync(new Dictionary<string, string?>(Peer("gpu-b.test"))
        {
            ["Transfer:Tls:Certificate"] = impostor.CertificatePath,
            ["Transfer:Tls:Key"] = impostor.KeyPath,
        }, SlowModels.With(baseMs: 20));
        await using var origin = await DaemonHarness.StartAsync(Origin(peer.Daemon.TransferAddress!.Port), SlowModels.With(baseMs: 30));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        var stats = await peer.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.Equal(0UL, stats.ModelStats[0].ExecutionCount);
        Assert.True(Sample(await origin.MetricsTextAsync(), "dataplane_transfer_auth_failures_total{direction=\"out\",reason=\"name_mismatch\"}") >= 1);
    }

    private static async Task<(byte[] Expected, ModelInferResponse Response)> Call(DaemonHarness h, int value)
    {
        var request = SlowModels.Request(value, $"r{value}");
        var response = await h.Client.ModelInferAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
        Assert.Equal($"r{value}", response.Id);
        return (SimulatedTransform.Apply(TensorDataType.Int32, BitConverter.GetBytes(value)), response);
    }

    private static double Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
