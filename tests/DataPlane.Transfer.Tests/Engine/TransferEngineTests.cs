using System.Net;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Tcp;
using Prometheus;

namespace DataPlane.Transfer.Tests.Engine;

public class TransferEngineTests
{
    private static TransferOptions Loopback(TransportMode mode = TransportMode.Auto, string node = "node") => new()
    {
        Transport = mode,
        ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        NodeName = node,
    };

    [Fact]
    public async Task Auto_picks_tcp_when_the_rdma_factory_finds_no_device()
    {
        bool asked = false;
        await using var engine = new TransferEngine(Loopback(), () =>
        {
            asked = true;
            return null;
        });

        Assert.True(asked);
        Assert.Equal(TransportKind.Tcp, engine.Kind);
        Assert.IsType<TcpTransport>(engine.Transport);
    }

    [Fact]
    public async Task Auto_picks_tcp_when_the_rdma_factory_throws()
    {
        await using var engine = new TransferEngine(Loopback(), () => throw new DllNotFoundException("libibverbs.so.1"));
        Assert.Equal(TransportKind.Tcp, engine.Kind);
    }

    [Fact]
    public async Task Auto_picks_rdma_when_the_factory_opens_it()
    {
        var fake = new FakeRdmaTransport();
        await using var engine = new TransferEngine(Loopback(), () => fake);
        Assert.Same(fake, engine.Transport);
    }

    [Fact]
    public async Task Forced_tcp_does_not_even_ask_for_rdma()
    {
        bool asked = false;
        await using var engine = new TransferEngine(Loopback(TransportMode.Tcp), () =>
        {
            asked = true;
            return new FakeRdmaTransport();
        });

        Assert.False(asked);
        Assert.Equal(TransportKind.Tcp, engine.Kind);
    }

    [Fact]
    public void Forced_rdma_without_a_device_fails_as_unavailable()
    {
        var e = Assert.Throws<TransferException>(() => new TransferEngine(Loopback(TransportMode.Rdma), () => null));
        Assert.Equal(TransferStatus.Unavailable, e.Status);
        Assert.Contains("no usable RDMA device", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_reason()
    {
        var options = Loopback() with
        {
            PollBatch = 0,
            DefaultFlowClass = "missing",
            FlowClasses = new Dictionary<string, FlowClass> { ["bulk"] = new FlowClass { Name = "bulk", Dscp = 64 } },
        };

        var errors = options.Validate();
        Assert.Contains(errors, e => e.Contains("poll batch", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'missing'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("dscp 64", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new TransferEngine(options));
    }

    [Fact]
    public async Task Engines_connect_and_export_the_peer_transport()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        await using var server = new TransferEngine(Loopback(node: "srv"), metrics: metrics);
        await using var client = new TransferEngine(Loopback(node: "cli"), metrics: metrics);
        using var memory = PinnedBuffer.Allocate(4096);
        using var region = server.Transport.Register(memory, RegionAccess.All);
        var endpoint = server.Listen(region);
        var accept = server.AcceptAsync().AsTask();

        await using var connection = await client.ConnectAsync(endpoint).Within();
        await using var accepted = await accept.Within();

        Assert.Equal("srv", connection.PeerName);
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_peer_transport", ("peer", "srv"), ("transport", "tcp")));
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_peer_transport", ("peer", "cli"), ("transport", "tcp")));
        Assert.Equal(4096, await TestSupport.SampleAsync(registry, "dataplane_transfer_registered_bytes", ("transport", "tcp")));
    }

    [Fact]
    public async Task A_failed_connection_is_replaced_by_a_rehandshake_with_the_next_generation()
    {
        await using var server = new TransferEngine(Loopback(node: "srv"));
        await using var client = new TransferEngine(Loopback(node: "cli"));
        var endpoint = server.Listen();

        var firstAccept = server.AcceptAsync().AsTask();
        var first = await client.GetConnectionAsync("srv", endpoint).Within();
        var firstServerSide = await firstAccept.Within();
        Assert.Same(first, await client.GetConnectionAsync("srv", endpoint).Within());
        Assert.Equal(0u, firstServerSide.Generation);

        await firstServerSide.DisposeAsync();
        await first.Completion.Within();
        Assert.Equal(TransferStatus.ConnectionLost, first.Fault);

        var secondAccept = server.AcceptAsync().AsTask();
        var second = await client.GetConnectionAsync("srv", endpoint).Within();
        await using var secondServerSide = await secondAccept.Within();
        Assert.NotSame(first, second);
        Assert.Equal(1u, second.Generation);
        Assert.Equal(1u, secondServerSide.Generation);
        await second.SendAsync(new byte[] { 1 }).Within();
    }

    [Fact]
    public async Task Unknown_flow_class_is_an_argument_error()
    {
        await using var client = new TransferEngine(Loopback());
        await Assert.ThrowsAsync<ArgumentException>(() => client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 1), "nope"));
    }

    [Fact]
    public async Task Engine_pool_is_registered_with_the_chosen_transport()
    {
        await using var engine = new TransferEngine(Loopback() with { PoolBufferBytes = 4096, PoolBufferCount = 2 });
        Assert.Equal(0, engine.Transport.RegisteredBytes);
        Assert.Equal(2, engine.Pool.Count);
        Assert.Equal(8192, engine.Transport.RegisteredBytes);
    }

    /// <summary>Stands in for the RDMA transport the engine would get from the verbs binding.</summary>
    private sealed class FakeRdmaTransport : ITransport
    {
        public TransportKind Kind => TransportKind.Rdma;

        public long RegisteredBytes => 0;

        public RegisteredBuffer Register(PinnedBuffer memory, RegionAccess access) => throw new NotSupportedException();

        public ITransferListener Listen(IPEndPoint endpoint, ConnectionSettings settings) => throw new NotSupportedException();

        public Task<ITransferConnection> ConnectAsync(IPEndPoint endpoint, ConnectionSettings settings, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
