using System.Net;
using DataPlane.Interop.Verbs;
using DataPlane.Testing;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Bench;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Rdma;
using DataPlane.Transfer.Tcp;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace DataPlane.Transfer.Tests.Rdma;

/// <summary>The RDMA transport end to end through the fake libibverbs: two transports in this process, a
/// listener and a connecting side, real queue pairs and completions.</summary>
[Collection(FakeVerbs.Collection)]
public sealed class RdmaTransportTests
{
    private static readonly FlowClass s_bulk = new() { Name = "bulk", Dscp = 26, ServiceLevel = 3 };

    [Fact]
    public async Task Handshake_walks_both_queue_pairs_to_rts_with_the_negotiated_attributes()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync(client: new ConnectionSettings { FlowClass = s_bulk });

        Assert.Equal(TransportKind.Rdma, pair.Client.Kind);
        Assert.Equal(TransportKind.Rdma, pair.Server.Kind);
        Assert.Equal("server", pair.Client.PeerName);
        Assert.Equal("client", pair.Server.PeerName);
        Assert.Equal(pair.ServerRegion.ToRemoteRegion(), pair.Client.PeerRegion);
        var client = (RdmaConnection)pair.Client;
        var server = (RdmaConnection)pair.Server;
        Assert.Equal(QueuePairState.ReadyToSend, client.QueuePair.QueryState());
        Assert.Equal(QueuePairState.ReadyToSend, server.QueuePair.QueryState());
        Assert.Equal(server.QueuePair.QpNumber, client.PeerHandshake!.QueuePairNumber);
        Assert.Equal(client.QueuePair.QpNumber, server.Rtr.RemoteQpNumber);
        // rq_psn is the peer's sq_psn.
        Assert.Equal(server.SendPsn, client.Rtr.RemotePsn);
        Assert.Equal(client.SendPsn, server.Rtr.RemotePsn);
        Assert.Equal(2, client.Rtr.GidIndex); // the IPv4-mapped RoCE v2 entry of the default fake device
        Assert.Equal(VerbsGid.Parse("::ffff:127.0.0.1"), client.Rtr.RemoteGid);
        // DSCP 26 → traffic class 104, carried into RTR on both sides (the listener resolves the unknown class from the offer).
        Assert.Equal(104, client.Rtr.TrafficClass);
        Assert.Equal(104, server.PeerHandshake!.TrafficClass);
        Assert.Equal(104, server.Rtr.TrafficClass);
        Assert.Equal(3, server.Rtr.ServiceLevel);
        Assert.Equal(Mtu.Mtu4096, client.Rtr.Mtu);
    }

    [Fact]
    public async Task Path_mtu_is_the_smaller_of_both_ports()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync(clientOptions: new RdmaOptions { MtuCap = 3 });
        Assert.Equal(Mtu.Mtu1024, ((RdmaConnection)pair.Client).Rtr.Mtu);
        Assert.Equal(Mtu.Mtu1024, ((RdmaConnection)pair.Server).Rtr.Mtu);
        await pair.Client.WriteAsync(pair.Local.Slice(0, 5000), pair.Client.PeerRegion!.Value, 0).Within();
    }

    [Fact]
    public async Task Write_and_read_move_the_bytes()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        var region = pair.Client.PeerRegion!.Value;
        pair.Local.Span[..4096].Fill(0xAB);

        await pair.Client.WriteAsync(pair.Local.Slice(0, 4096), region, 8192).Within();
        Assert.True(pair.ServerRegion.Span.Slice(8192, 4096).ToArray().All(b => b == 0xAB));

        await pair.Client.ReadAsync(pair.Local.Slice(100_000, 1000), region, 50).Within();
        Assert.Equal(pair.ServerRegion.Span.Slice(50, 1000).ToArray(), pair.Local.Span.Slice(100_000, 1000).ToArray());
        Assert.Null(pair.Client.Fault);
        Assert.Equal(1, await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_operations_total", ("transport", "rdma"), ("peer", "server"), ("op", "write")));
        Assert.Equal(1, await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_operations_total", ("transport", "rdma"), ("peer", "server"), ("op", "read")));
    }

    [Fact]
    public async Task Sends_arrive_in_order_and_oversized_ones_are_refused()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync(server: new ConnectionSettings { MaxMessageBytes = 1024 });
        Assert.Equal(1024, pair.Client.PeerMaxMessageBytes);
        var sends = Enumerable.Range(0, 20).Select(i => pair.Client.SendAsync(new byte[] { (byte)i, 1, 2, 3 })).ToArray();
        for (int i = 0; i < 20; i++)
        {
            using var message = await pair.Server.ReceiveAsync().AsTask().Within();
            Assert.Equal(new byte[] { (byte)i, 1, 2, 3 }, message.Payload.ToArray());
        }

        await Task.WhenAll(sends).Within();
        var big = await Assert.ThrowsAsync<TransferException>(() => pair.Client.SendAsync(new byte[1025]));
        Assert.Equal(TransferStatus.RemoteInvalidRequest, big.Status);
        Assert.Null(pair.Client.Fault);

        // The other way round, and a message of exactly the limit.
        await pair.Server.SendAsync(new byte[pair.Server.PeerMaxMessageBytes]).Within();
        using var back = await pair.Client.ReceiveAsync().AsTask().Within();
        Assert.Equal(pair.Server.PeerMaxMessageBytes, back.Payload.Length);
    }

    [Fact]
    public async Task A_chain_executes_in_order_and_the_send_follows_the_write()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        var region = pair.Client.PeerRegion!.Value;
        pair.Local.Span[..64].Fill(7);
        var chain = new List<TransferRequest>();
        for (int i = 0; i < 40; i++)
        {
            chain.Add(TransferRequest.Write(pair.Local.Slice(0, 64), region, (ulong)(i * 64)));
        }

        chain.Add(TransferRequest.Read(pair.Local.Slice(4096, 64 * 40), region, 0));
        chain.Add(TransferRequest.Send("done"u8.ToArray()));
        await pair.Client.SubmitAsync(chain).Within();

        using var note = await pair.Server.ReceiveAsync().AsTask().Within();
        Assert.Equal("done"u8.ToArray(), note.Payload.ToArray());
        Assert.True(pair.ServerRegion.Span[..(64 * 40)].ToArray().All(b => b == 7));
        Assert.True(pair.Local.Span.Slice(4096, 64 * 40).ToArray().All(b => b == 7));
    }

    [Fact]
    public async Task A_bad_rkey_faults_with_remote_access_error_and_fails_pending_operations()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        var region = pair.Client.PeerRegion!.Value;
        var bad = region with { RemoteKey = region.RemoteKey ^ 0x5a5a };
        var chain = new List<TransferRequest> { TransferRequest.Write(pair.Local.Slice(0, 16), bad, 0) };
        for (int i = 0; i < 10; i++)
        {
            chain.Add(TransferRequest.Write(pair.Local.Slice(0, 16), region, 0));
        }

        var error = await Assert.ThrowsAsync<TransferException>(() => pair.Client.SubmitAsync(chain).Within());
        Assert.Equal(TransferStatus.RemoteAccessError, error.Status);
        Assert.Equal(0, error.ChainIndex);
        Assert.Equal(TransferStatus.RemoteAccessError, pair.Client.Fault);
        Assert.Equal(QueuePairState.Error, ((RdmaConnection)pair.Client).QueuePair.QueryState());

        // New operations fail at once, as flushed (they are not the cause) with the cause in the message; the peer
        // learns from the control connection; receives end.
        var late = await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(pair.Local.Slice(0, 16), region, 0).Within());
        Assert.Equal(TransferStatus.Flushed, late.Status);
        Assert.Contains("unusable (remote_access_error)", late.Message);
        await pair.Client.Completion.Within();
        await pair.Server.Completion.Within();
        await Assert.ThrowsAsync<TransferException>(() => pair.Server.ReceiveAsync().AsTask().Within());
        Assert.True(await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_completion_errors_total", ("transport", "rdma"), ("status", "remote_access_error")) >= 1);
    }

    [Fact]
    public async Task An_out_of_range_write_is_a_remote_access_error()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        var region = pair.Client.PeerRegion!.Value;
        var error = await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(pair.Local.Slice(0, 4096), region, region.Length - 100).Within());
        Assert.Equal(TransferStatus.RemoteAccessError, error.Status);
        Assert.Equal(TransferStatus.RemoteAccessError, pair.Client.Fault);
    }

    [Fact]
    public async Task An_injected_failure_fails_that_operation_and_flushes_the_rest()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        var region = pair.Client.PeerRegion!.Value;
        using var inject = FakeVerbs.Use(failWr: 3);
        var ops = Enumerable.Range(0, 6).Select(i => pair.Client.WriteAsync(pair.Local.Slice(i * 16, 16), region, (ulong)(i * 16))).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(ops).Within());

        Assert.True(ops[0].IsCompletedSuccessfully);
        Assert.True(ops[1].IsCompletedSuccessfully);
        Assert.Equal(TransferStatus.RemoteAccessError, ((TransferException)ops[2].Exception!.InnerException!).Status);
        Assert.All(ops.Skip(3), t => Assert.Equal(TransferStatus.Flushed, ((TransferException)t.Exception!.InnerException!).Status));
    }

    [Fact]
    public async Task Many_concurrent_sends_respect_the_receivers_credits()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync(server: new ConnectionSettings { ReceiveDepth = 4, MaxMessageBytes = 256 });
        const int Count = 300;
        var sends = new List<Task>();
        var receiver = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                using var m = await pair.Server.ReceiveAsync();
                Assert.Equal(i, BitConverter.ToInt32(m.Payload.Span));
                if (i % 50 == 0)
                {
                    await Task.Delay(5);
                }
            }
        });
        for (int i = 0; i < Count; i++)
        {
            sends.Add(pair.Client.SendAsync(BitConverter.GetBytes(i)));
            Assert.True(((RdmaConnection)pair.Client).SendCredits <= 4);
        }

        await Task.WhenAll(sends).Within();
        await receiver.Within();
        Assert.Null(pair.Client.Fault);
        Assert.Null(pair.Server.Fault);
    }

    [Fact]
    public async Task Closing_one_side_ends_the_other_with_connection_lost()
    {
        using var scope = FakeVerbs.Use();
        await using var pair = await RdmaPair.StartAsync();
        await pair.Client.DisposeAsync();
        await pair.Server.Completion.Within();
        Assert.Equal(TransferStatus.ConnectionLost, pair.Server.Fault);
        Assert.Equal(TransferStatus.Closed, pair.Client.Fault);
    }

    [Theory]
    [InlineData(QueuePairState.Init, "init")]
    [InlineData(QueuePairState.ReadyToReceive, "rtr")]
    [InlineData(QueuePairState.ReadyToSend, "rts")]
    public async Task A_refused_queue_pair_transition_fails_the_handshake_at_that_stage_and_the_next_one_succeeds(QueuePairState state, string stage)
    {
        using var scope = FakeVerbs.Use(failModifyInto: state); // the first QP to enter that state, on either side
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        await using var server = Open(metrics);
        await using var client = Open(metrics);
        await using var listener = server.Listen(new IPEndPoint(IPAddress.Loopback, 0), new ConnectionSettings { LocalName = "server" });

        var error = await Assert.ThrowsAsync<TransferException>(() => client.ConnectAsync(listener.LocalEndPoint, new ConnectionSettings()).Within());
        Assert.Equal(TransferStatus.HandshakeFailed, error.Status);
        double counted = 0;
        await Eventually.TrueAsync(
            async () => (counted = await TestSupport.SampleAsync(registry, "dataplane_transfer_handshake_failures_total", ("stage", stage))) != 0,
            TestSupport.Patience, $"a handshake failure at stage {stage} to be counted");

        Assert.Equal(1, counted);

        // The refusal was one transition on one queue pair: the listener carries on and the next peer connects.
        var accept = listener.AcceptAsync().AsTask();
        await using var connection = await client.ConnectAsync(listener.LocalEndPoint, new ConnectionSettings()).Within();
        await using var accepted = await accept.Within();
        Assert.Equal(QueuePairState.ReadyToSend, ((RdmaConnection)connection).QueuePair.QueryState());
    }

    [Fact]
    public async Task A_tcp_offer_to_an_rdma_listener_fails_at_negotiation_and_is_counted()
    {
        using var scope = FakeVerbs.Use();
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        await using var server = Open(metrics);
        await using var listener = server.Listen(new IPEndPoint(IPAddress.Loopback, 0), new ConnectionSettings());
        await using var tcp = new TcpTransport(metrics: metrics);
        var error = await Assert.ThrowsAsync<TransferException>(() => tcp.ConnectAsync(listener.LocalEndPoint, new ConnectionSettings()).Within());
        Assert.Equal(HandshakeStage.Negotiate, error.Stage);
        Assert.True(await TestSupport.SampleAsync(registry, "dataplane_transfer_handshake_failures_total", ("stage", "negotiate")) >= 1);
    }

    [Fact]
    public async Task Engine_uses_rdma_with_a_device_and_rehandshakes_after_a_fault()
    {
        using var scope = FakeVerbs.Use();
        var factory = RdmaTransport.Factory(new RdmaOptions { LibraryPath = FakeVerbs.LibraryPath }, null, NullLogger.Instance);
        var options = new TransferOptions { ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0), NodeName = "a" };
        await using var server = new TransferEngine(options with { NodeName = "b" }, factory);
        await using var client = new TransferEngine(options, factory);
        Assert.Equal(TransportKind.Rdma, server.Kind);
        Assert.Equal(TransportKind.Rdma, client.Kind);
        var memory = PinnedBuffer.Allocate(1 << 16);
        using var region = server.Transport.Register(memory, RegionAccess.All);
        var endpoint = server.Listen(region);
        var accepting = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                await using var c = await server.AcceptAsync();
                await c.Completion;
            }
        });

        var first = await client.GetConnectionAsync("b", endpoint).Within();
        Assert.Equal(0u, first.Generation);
        var localMemory = PinnedBuffer.Allocate(4096);
        using var local = client.Transport.Register(localMemory, RegionAccess.All);
        var peer = first.PeerRegion!.Value;
        await Assert.ThrowsAsync<TransferException>(() => first.WriteAsync(local.Slice(0, 16), peer with { RemoteKey = peer.RemoteKey + 1 }, 0).Within());
        Assert.NotNull(first.Fault);

        var second = await client.GetConnectionAsync("b", endpoint).Within();
        Assert.Equal(1u, second.Generation);
        Assert.Null(second.Fault);
        await second.WriteAsync(local.Slice(0, 16), second.PeerRegion!.Value, 0).Within();
        await second.DisposeAsync();
        await accepting.Within();
        localMemory.Dispose();
        memory.Dispose();
    }

    [Fact]
    public async Task Engine_falls_back_to_tcp_without_devices_or_library()
    {
        using var scope = FakeVerbs.Use(noDevices: true);
        var options = new TransferOptions { ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0) };
        await using (var engine = new TransferEngine(options, RdmaTransport.Factory(new RdmaOptions { LibraryPath = FakeVerbs.LibraryPath }, null, NullLogger.Instance)))
        {
            Assert.Equal(TransportKind.Tcp, engine.Kind);
        }

        string missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "libibverbs.so.1");
        await using (var engine = new TransferEngine(options, RdmaTransport.Factory(new RdmaOptions { LibraryPath = missing }, null, NullLogger.Instance)))
        {
            Assert.Equal(TransportKind.Tcp, engine.Kind);
        }

        Assert.False(RdmaTransport.TryOpen(new RdmaOptions { LibraryPath = FakeVerbs.LibraryPath }, null, null, out _, out string reason));
        Assert.Contains("no RDMA devices", reason, StringComparison.Ordinal);
        var forced = Assert.Throws<TransferException>(() => new TransferEngine(options with { Transport = TransportMode.Rdma },
            RdmaTransport.Factory(new RdmaOptions { LibraryPath = missing }, null, NullLogger.Instance)));
        Assert.Equal(TransferStatus.Unavailable, forced.Status);
    }

    [Fact]
    public async Task Xfer_bench_runs_over_rdma()
    {
        using var scope = FakeVerbs.Use();
        string json = Path.Combine(Path.GetTempPath(), $"xfer-bench-rdma-{Guid.NewGuid():N}.json");
        try
        {
            var hooks = new XferBenchHooks { RdmaFactory = RdmaTransport.Factory(new RdmaOptions { LibraryPath = FakeVerbs.LibraryPath }, null, NullLogger.Instance) };
            var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            var server = XferBench.RunAsync(["--server", "--once", "--listen", "127.0.0.1:0", "--region", "1M", "--transport", "rdma"],
                TextWriter.Null, TextWriter.Null, hooks with { OnListening = listening.SetResult }, CancellationToken.None);
            var endpoint = await listening.Task.Within();
            var stderr = new StringWriter();
            int exit = await XferBench.RunAsync(
                ["--connect", $"127.0.0.1:{endpoint.Port}", "--transport", "rdma", "--sizes", "4K", "--iterations", "10",
                 "--lat-sizes", "8", "--lat-iterations", "10", "--window", "4", "--json", json],
                TextWriter.Null, stderr, hooks, CancellationToken.None).Within();
            Assert.True(exit == 0, stderr.ToString());
            Assert.Equal(0, await server.Within());
            Assert.Contains("\"transport\": \"rdma\"", await File.ReadAllTextAsync(json), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(json);
        }
    }

    internal static RdmaTransport Open(TransferMetrics? metrics = null, RdmaOptions? options = null)
    {
        Assert.True(RdmaTransport.TryOpen((options ?? new RdmaOptions()) with { LibraryPath = FakeVerbs.LibraryPath, BusyPollBudget = TimeSpan.Zero },
            metrics, null, out var transport, out string reason), reason);
        return transport!;
    }

    /// <summary>Two RDMA transports on the fake: a listening server with an exposed region and a connected client.</summary>
    private sealed class RdmaPair : IAsyncDisposable
    {
        public required RdmaTransport ServerTransport { get; init; }

        public required RdmaTransport ClientTransport { get; init; }

        public required ITransferListener Listener { get; init; }

        public required RegisteredBuffer ServerRegion { get; init; }

        public required RegisteredBuffer Local { get; init; }

        public required ITransferConnection Client { get; init; }

        public required ITransferConnection Server { get; init; }

        public required CollectorRegistry Registry { get; init; }

        public static async Task<RdmaPair> StartAsync(ConnectionSettings? client = null, ConnectionSettings? server = null, RdmaOptions? clientOptions = null)
        {
            var registry = Metrics.NewCustomRegistry();
            var metrics = new TransferMetrics(registry);
            var serverTransport = Open(metrics);
            var clientTransport = Open(metrics, clientOptions);
            var region = TestSupport.Region(serverTransport, 1 << 20, seed: 7);
            var local = TestSupport.Region(clientTransport, 1 << 20, seed: 3);
            var listener = serverTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0),
                (server ?? new ConnectionSettings()) with { LocalName = "server", ExposedRegion = region });
            var accept = listener.AcceptAsync().AsTask();
            var clientConnection = await clientTransport.ConnectAsync(listener.LocalEndPoint, (client ?? new ConnectionSettings()) with { LocalName = "client" }).Within();
            var serverConnection = await accept.Within();
            return new RdmaPair
            {
                ServerTransport = serverTransport, ClientTransport = clientTransport, Listener = listener, ServerRegion = region, Local = local,
                Client = clientConnection, Server = serverConnection, Registry = registry,
            };
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            await Listener.DisposeAsync();
            ServerRegion.Dispose();
            Local.Dispose();
            await ClientTransport.DisposeAsync();
            await ServerTransport.DisposeAsync();
        }
    }
}
