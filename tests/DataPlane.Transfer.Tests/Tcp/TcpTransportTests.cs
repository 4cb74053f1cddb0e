using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Handshake;
using DataPlane.Transfer.Tcp;

namespace DataPlane.Transfer.Tests.Tcp;

public class TcpTransportTests
{
    [Fact]
    public async Task Handshake_carries_names_region_limits_and_generation()
    {
        await using var pair = await TcpPair.StartAsync(client: new ConnectionSettings { MaxMessageBytes = 1234 });

        Assert.Equal("server", pair.Client.PeerName);
        Assert.Equal("client", pair.Server.PeerName);
        Assert.Equal(TransportKind.Tcp, pair.Client.Kind);
        Assert.Equal(pair.ServerRegion.ToRemoteRegion(), pair.Client.PeerRegion);
        Assert.Null(pair.Server.PeerRegion);
        Assert.Equal(1234, pair.Server.PeerMaxMessageBytes);
        Assert.Equal(0u, pair.Client.Generation);
        Assert.Null(pair.Client.Fault);
    }

    [Fact]
    public async Task Write_puts_the_bytes_into_the_peer_region()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 8192, seed: 99);
        var remote = pair.Client.PeerRegion!.Value;

        await pair.Client.WriteAsync(local.Slice(100, 5000), remote, 3000).Within();

        Assert.True(pair.ServerRegion.Span.Slice(3000, 5000).SequenceEqual(local.Span.Slice(100, 5000)));
        Assert.Equal(unchecked((byte)((2999 * 31) + 7)), pair.ServerRegion.Span[2999]);
        Assert.Equal(unchecked((byte)((8000 * 31) + 7)), pair.ServerRegion.Span[8000]);
    }

    [Fact]
    public async Task Large_write_goes_through_whole()
    {
        await using var pair = await TcpPair.StartAsync(regionBytes: 4 << 20);
        using var local = TestSupport.Region(pair.ClientTransport, 3 << 20, seed: 5);

        await pair.Client.WriteAsync(local.AsSlice(), pair.Client.PeerRegion!.Value, 12345).Within();

        Assert.True(pair.ServerRegion.Span.Slice(12345, 3 << 20).SequenceEqual(local.Span));
    }

    [Fact]
    public async Task Read_returns_the_peer_bytes()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 4096, seed: 1);

        await pair.Client.ReadAsync(local.Slice(10, 2000), pair.Client.PeerRegion!.Value, 777).Within();

        Assert.True(local.Span.Slice(10, 2000).SequenceEqual(pair.ServerRegion.Span.Slice(777, 2000)));
        Assert.Equal(unchecked((byte)((9 * 31) + 1)), local.Span[9]);
    }

    [Fact]
    public async Task Messages_arrive_in_order_with_their_bytes()
    {
        await using var pair = await TcpPair.StartAsync();
        var sends = new List<Task>();
        for (int i = 0; i < 200; i++)
        {
            byte[] message = new byte[i * 7];
            Array.Fill(message, (byte)i);
            sends.Add(pair.Client.SendAsync(message));
        }

        for (int i = 0; i < 200; i++)
        {
            using var received = await pair.Server.ReceiveAsync().AsTask().Within();
            Assert.Equal(i * 7, received.Payload.Length);
            Assert.All(received.Payload.ToArray(), b => Assert.Equal((byte)i, b));
        }

        await Task.WhenAll(sends).Within();
    }

    [Fact]
    public async Task Send_copies_the_message_before_returning()
    {
        await using var pair = await TcpPair.StartAsync();
        byte[] message = [1, 2, 3];
        var send = pair.Client.SendAsync(message);
        message[0] = 9;

        using var received = await pair.Server.ReceiveAsync().AsTask().Within();
        Assert.Equal(new byte[] { 1, 2, 3 }, received.Payload.ToArray());
        await send.Within();
    }

    [Fact]
    public async Task Chained_operations_run_in_order()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 4096);
        var remote = pair.Client.PeerRegion!.Value;
        local.Span[..4].Fill(0xAA);
        local.Span.Slice(4, 4).Fill(0xBB);

        await pair.Client.SubmitAsync(
        [
            TransferRequest.Write(local.Slice(0, 4), remote, 0),
            TransferRequest.Write(local.Slice(4, 4), remote, 2),   // overwrites bytes 2..3 of the first write
            TransferRequest.Read(local.Slice(100, 6), remote, 0),  // sees both writes
            TransferRequest.Send("done"u8.ToArray()),
        ]).Within();

        Assert.Equal(new byte[] { 0xAA, 0xAA, 0xBB, 0xBB, 0xBB, 0xBB }, local.Span.Slice(100, 6).ToArray());
        using var note = await pair.Server.ReceiveAsync().AsTask().Within();
        Assert.Equal("done"u8.ToArray(), note.Payload.ToArray());
    }

    [Fact]
    public async Task A_send_after_a_write_is_received_after_the_bytes_are_in_place()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 65536, seed: 3);
        var remote = pair.Client.PeerRegion!.Value;

        var write = pair.Client.WriteAsync(local.AsSlice(), remote, 0);
        var send = pair.Client.SendAsync(new byte[] { 1 });
        using var note = await pair.Server.ReceiveAsync().AsTask().Within();

        Assert.True(pair.ServerRegion.Span[..65536].SequenceEqual(local.Span));
        await Task.WhenAll(write, send).Within();
    }

    [Fact]
    public async Task Failed_chain_names_the_first_failed_operation()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 4096);
        var remote = pair.Client.PeerRegion!.Value;

        var e = await Assert.ThrowsAsync<TransferException>(() => pair.Client.SubmitAsync(
        [
            TransferRequest.Write(local.Slice(0, 10), remote, 0),
            TransferRequest.Write(local.Slice(0, 10), remote with { RemoteKey = remote.RemoteKey + 1000 }, 0),
            TransferRequest.Write(local.Slice(0, 10), remote, 10),
        ])).Within();

        Assert.Equal(1, e.ChainIndex);
        Assert.Equal(TransferStatus.RemoteAccessError, e.Status);
    }

    [Fact]
    public async Task Out_of_range_write_faults_with_remote_access_error_and_the_connection_survives()
    {
        await using var pair = await TcpPair.StartAsync(regionBytes: 4096);
        using var local = TestSupport.Region(pair.ClientTransport, 8192, seed: 2);
        var remote = pair.Client.PeerRegion!.Value;
        byte[] before = pair.ServerRegion.Span.ToArray();

        var e = await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.Slice(0, 100), remote, 4000)).Within();
        Assert.Equal(TransferStatus.RemoteAccessError, e.Status);
        var tooBig = await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.AsSlice(), remote, 0)).Within();
        Assert.Equal(TransferStatus.RemoteAccessError, tooBig.Status);
        var wrapped = await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.Slice(0, 1), remote, ulong.MaxValue)).Within();
        Assert.Equal(TransferStatus.RemoteAccessError, wrapped.Status);

        Assert.Equal(before, pair.ServerRegion.Span.ToArray());
        Assert.Null(pair.Client.Fault);
        await pair.Client.WriteAsync(local.Slice(0, 96), remote, 4000).Within();
        Assert.True(pair.ServerRegion.Span.Slice(4000, 96).SequenceEqual(local.Span[..96]));
    }

    [Fact]
    public async Task Unknown_region_write_and_read_fault_with_remote_access_error_and_the_connection_survives()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 4096);
        var remote = pair.Client.PeerRegion!.Value;
        var unknown = remote with { RemoteKey = remote.RemoteKey ^ 0x5555 };

        Assert.Equal(TransferStatus.RemoteAccessError,
            (await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.Slice(0, 64), unknown, 0)).Within()).Status);
        Assert.Equal(TransferStatus.RemoteAccessError,
            (await Assert.ThrowsAsync<TransferException>(() => pair.Client.ReadAsync(local.Slice(0, 64), unknown, 0)).Within()).Status);

        await pair.Client.ReadAsync(local.Slice(0, 64), remote, 0).Within();
        Assert.True(local.Span[..64].SequenceEqual(pair.ServerRegion.Span[..64]));
    }

    [Fact]
    public async Task Region_access_rights_are_enforced()
    {
        await using var pair = await TcpPair.StartAsync();
        using var readOnly = TestSupport.Region(pair.ServerTransport, 4096, RegionAccess.RemoteRead);
        using var writeOnly = TestSupport.Region(pair.ServerTransport, 4096, RegionAccess.RemoteWrite);
        using var local = TestSupport.Region(pair.ClientTransport, 4096);

        Assert.Equal(TransferStatus.RemoteAccessError,
            (await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.Slice(0, 8), readOnly.ToRemoteRegion(), 0)).Within()).Status);
        Assert.Equal(TransferStatus.RemoteAccessError,
            (await Assert.ThrowsAsync<TransferException>(() => pair.Client.ReadAsync(local.Slice(0, 8), writeOnly.ToRemoteRegion(), 0)).Within()).Status);
        await pair.Client.ReadAsync(local.Slice(0, 8), readOnly.ToRemoteRegion(), 0).Within();
        await pair.Client.WriteAsync(local.Slice(0, 8), writeOnly.ToRemoteRegion(), 0).Within();
    }

    [Fact]
    public async Task A_deregistered_region_refuses_access()
    {
        await using var pair = await TcpPair.StartAsync();
        var gone = TestSupport.Region(pair.ServerTransport, 4096);
        var remote = gone.ToRemoteRegion();
        using var local = TestSupport.Region(pair.ClientTransport, 64);
        await pair.Client.WriteAsync(local.AsSlice(), remote, 0).Within();

        gone.Dispose();

        Assert.Equal(TransferStatus.RemoteAccessError,
            (await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.AsSlice(), remote, 0)).Within()).Status);
    }

    [Fact]
    public async Task Oversized_message_faults_with_remote_invalid_request()
    {
        await using var pair = await TcpPair.StartAsync(server: new ConnectionSettings { MaxMessageBytes = 100 });
        var e = await Assert.ThrowsAsync<TransferException>(() => pair.Client.SendAsync(new byte[101])).Within();
        Assert.Equal(TransferStatus.RemoteInvalidRequest, e.Status);
        await pair.Client.SendAsync(new byte[100]).Within();
    }

    [Fact]
    public async Task Many_tasks_transfer_concurrently()
    {
        const int Tasks = 16, PerTask = 40, Chunk = 1024;
        await using var pair = await TcpPair.StartAsync(regionBytes: Tasks * Chunk);
        var remote = pair.Client.PeerRegion!.Value;

        // Messages are drained while the transfers run: a full receive queue stops the connection (the TCP
        // form of RNR), one-sided operations included.
        var counts = new int[Tasks];
        var drain = Task.Run(async () =>
        {
            for (int i = 0; i < Tasks * PerTask; i++)
            {
                using var m = await pair.Server.ReceiveAsync();
                counts[m.Payload.Span[0]]++;
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            using var local = TestSupport.Region(pair.ClientTransport, 2 * Chunk);
            for (int i = 0; i < PerTask; i++)
            {
                local.Span[..Chunk].Fill((byte)(t + i));
                await pair.Client.WriteAsync(local.Slice(0, Chunk), remote, (ulong)(t * Chunk));
                await pair.Client.ReadAsync(local.Slice(Chunk, Chunk), remote, (ulong)(t * Chunk));
                Assert.True(local.Span[Chunk..].SequenceEqual(local.Span[..Chunk]), $"task {t} iteration {i}");
                await pair.Client.SendAsync(new byte[] { (byte)t });
            }
        }))).Within();
        await drain.Within();

        Assert.All(counts, c => Assert.Equal(PerTask, c));
    }

    [Fact]
    public async Task Both_sides_can_write_to_each_other_at_once()
    {
        await using var pair = await TcpPair.StartAsync(regionBytes: 8 << 20);
        using var clientRegion = TestSupport.Region(pair.ClientTransport, 8 << 20, seed: 11);
        using var serverSource = TestSupport.Region(pair.ServerTransport, 8 << 20, seed: 12);
        var toServer = pair.Client.PeerRegion!.Value;
        var toClient = clientRegion.ToRemoteRegion();

        // Large writes both ways fill both sockets' buffers: neither side's receive loop may block on sending acks.
        var a = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => pair.Client.WriteAsync(clientRegion.AsSlice(), toServer, 0)));
        var b = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => pair.Server.WriteAsync(serverSource.AsSlice(), toClient, 0)));
        await Task.WhenAll(a, b).Within();

        Assert.True(clientRegion.Span.SequenceEqual(serverSource.Span));
    }

    [Fact]
    public async Task A_vanishing_peer_faults_pending_operations_with_connection_lost()
    {
        await using var fake = await FakePeer.StartAsync(closeAfterBytes: 64);
        var transport = new TcpTransport();
        await using var _ = transport;
        var connection = await transport.ConnectAsync(fake.EndPoint, new ConnectionSettings()).Within();
        await using var __ = connection;
        using var local = TestSupport.Region(transport, 4096);
        var receive = connection.ReceiveAsync().AsTask();

        var write = connection.WriteAsync(local.AsSlice(), fake.Region, 0);

        var e = await Assert.ThrowsAsync<TransferException>(() => write).Within();
        Assert.Equal(TransferStatus.ConnectionLost, e.Status);
        Assert.Equal(TransferStatus.ConnectionLost, (await Assert.ThrowsAsync<TransferException>(() => receive).Within()).Status);
        Assert.Equal(TransferStatus.ConnectionLost, connection.Fault);
        await connection.Completion.Within();
        Assert.Equal(TransferStatus.ConnectionLost,
            (await Assert.ThrowsAsync<TransferException>(() => connection.SendAsync(new byte[1])).Within()).Status);
    }

    [Fact]
    public async Task A_silent_peer_times_out_operations_but_not_the_connection()
    {
        await using var fake = await FakePeer.StartAsync(closeAfterBytes: null);
        var transport = new TcpTransport();
        await using var _ = transport;
        var connection = await transport.ConnectAsync(fake.EndPoint, new ConnectionSettings { OperationTimeout = TimeSpan.FromMilliseconds(200) }).Within();
        await using var __ = connection;
        using var local = TestSupport.Region(transport, 64);

        var write = Assert.ThrowsAsync<TransferException>(() => connection.WriteAsync(local.AsSlice(), fake.Region, 0));
        var read = Assert.ThrowsAsync<TransferException>(() => connection.ReadAsync(local.AsSlice(), fake.Region, 0));

        Assert.Equal(TransferStatus.Timeout, (await write.Within()).Status);
        Assert.Equal(TransferStatus.Timeout, (await read.Within()).Status);
        Assert.Null(connection.Fault);
    }

    [Fact]
    public async Task Cancelling_abandons_the_wait()
    {
        await using var fake = await FakePeer.StartAsync(closeAfterBytes: null);
        var transport = new TcpTransport();
        await using var _ = transport;
        var connection = await transport.ConnectAsync(fake.EndPoint, new ConnectionSettings()).Within();
        await using var __ = connection;
        using var local = TestSupport.Region(transport, 64);
        using var cts = new CancellationTokenSource();

        var read = connection.ReadAsync(local.AsSlice(), fake.Region, 0, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read).Within();
        Assert.Null(connection.Fault);
    }

    [Fact]
    public async Task Closing_a_connection_fails_its_pending_operations_as_closed()
    {
        await using var fake = await FakePeer.StartAsync(closeAfterBytes: null);
        var transport = new TcpTransport();
        await using var _ = transport;
        var connection = await transport.ConnectAsync(fake.EndPoint, new ConnectionSettings()).Within();
        using var local = TestSupport.Region(transport, 64);
        var write = connection.WriteAsync(local.AsSlice(), fake.Region, 0);

        await connection.DisposeAsync();

        Assert.Equal(TransferStatus.Closed, (await Assert.ThrowsAsync<TransferException>(() => write).Within()).Status);
        Assert.Equal(TransferStatus.Closed, connection.Fault);
    }

    [Fact]
    public async Task Connecting_to_nothing_fails_at_the_connect_stage()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var unused = (IPEndPoint)probe.LocalEndPoint!;
        probe.Dispose();
        var transport = new TcpTransport();
        await using var _ = transport;

        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(unused, new ConnectionSettings())).Within();

        Assert.Equal(TransferStatus.HandshakeFailed, e.Status);
        Assert.Equal(HandshakeStage.Connect, e.Stage);
    }

    [Fact]
    public async Task A_server_that_is_not_a_transfer_endpoint_fails_at_decode()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        var answer = Task.Run(async () =>
        {
            using var s = await server.AcceptAsync();
            await s.SendAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            await Task.Delay(500);
        });
        var transport = new TcpTransport();
        await using var _ = transport;

        var e = await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync((IPEndPoint)server.LocalEndPoint!, new ConnectionSettings())).Within();

        Assert.Equal(HandshakeStage.Decode, e.Stage);
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);
        await answer.Within();
    }

    [Fact]
    public async Task A_listener_survives_a_bad_handshake_and_accepts_the_next_peer()
    {
        await using var pair = await TcpPair.StartAsync();
        using (var junk = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await junk.ConnectAsync(pair.Listener.LocalEndPoint);
            await junk.SendAsync(new byte[100]);
            var buffer = new byte[256];
            // The listener answers a reject (or just closes); either way it reads to the end.
            try
            {
                while (await junk.ReceiveAsync(buffer) > 0)
                {
                }
            }
            catch (SocketException)
            {
                // Closed with our junk unread: a reset.
            }
        }

        var accept = pair.Listener.AcceptAsync().AsTask();
        await using var second = await pair.ClientTransport.ConnectAsync(pair.Listener.LocalEndPoint, new ConnectionSettings { LocalName = "second" }).Within();
        await using var accepted = await accept.Within();
        Assert.Equal("second", accepted.PeerName);
        Assert.Equal(1, await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_handshake_failures_total", ("stage", "decode")));
    }

    [Fact]
    public async Task Dscp_and_priority_of_the_flow_class_are_set_on_both_sockets()
    {
        var bulk = new FlowClass { Name = "bulk", Dscp = 10, SocketPriority = 2 };
        var serverBulk = new FlowClass { Name = "bulk", Dscp = 26, SocketPriority = 4 };
        await using var pair = await TcpPair.StartAsync(
            client: new ConnectionSettings { FlowClass = bulk },
            server: new ConnectionSettings { ResolveFlowClass = name => name == "bulk" ? serverBulk : null });

        var clientSocket = ((TcpTransferConnection)pair.Client).Socket;
        var serverSocket = ((TcpTransferConnection)pair.Server).Socket;
        Assert.Equal(10 << 2, SocketTuning.ReadTrafficClass(clientSocket));
        Assert.Equal(2, SocketTuning.ReadPriority(clientSocket));
        Assert.Equal(26 << 2, SocketTuning.ReadTrafficClass(serverSocket));
        Assert.Equal(4, SocketTuning.ReadPriority(serverSocket));
        Assert.True(clientSocket.NoDelay);
        Assert.Equal("bulk", pair.Server.FlowClass.Name);
    }

    [Fact]
    public async Task A_listener_without_the_class_marks_replies_like_the_peer()
    {
        var expedited = new FlowClass { Name = "expedited", Dscp = 46 };
        await using var pair = await TcpPair.StartAsync(client: new ConnectionSettings { FlowClass = expedited });

        Assert.Equal(46 << 2, SocketTuning.ReadTrafficClass(((TcpTransferConnection)pair.Server).Socket));
    }

    [Fact]
    public async Task Registered_bytes_are_accounted()
    {
        var transport = new TcpTransport();
        await using var _ = transport;
        using var a = PinnedBuffer.Allocate(4096);
        using var b = PinnedBuffer.Allocate(8192);

        var ra = transport.Register(a, RegionAccess.All);
        var rb = transport.Register(b, RegionAccess.All);
        Assert.Equal(12288, transport.RegisteredBytes);
        Assert.NotEqual(ra.RemoteKey, rb.RemoteKey);
        ra.Dispose();
        ra.Dispose();
        Assert.Equal(8192, transport.RegisteredBytes);
        rb.Dispose();
        Assert.Equal(0, transport.RegisteredBytes);
    }

    [Fact]
    public async Task A_local_slice_of_another_transport_kind_is_refused()
    {
        await using var pair = await TcpPair.StartAsync();
        using var memory = PinnedBuffer.Allocate(64);
        using var foreign = new ForeignRegistration(memory);

        var region = pair.Client.PeerRegion!.Value;
        Assert.Throws<ArgumentException>(() => { _ = pair.Client.WriteAsync(foreign.AsSlice(), region, 0); });
    }

    private sealed class ForeignRegistration(PinnedBuffer memory) : RegisteredBuffer(memory, RegionAccess.All, 1, 2)
    {
        public override TransportKind Kind => TransportKind.Rdma;

        protected override void Release()
        {
        }
    }

    /// <summary>A peer that completes the TCP handshake and then never answers: it closes after reading
    /// <c>closeAfterBytes</c> bytes of frames, or stays silent forever when that is null.</summary>
    private sealed class FakePeer : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Task _serve;
        private readonly CancellationTokenSource _stop = new();

        private FakePeer(Socket listener, int? closeAfterBytes)
        {
            _listener = listener;
            _serve = ServeAsync(closeAfterBytes);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

        public RemoteRegion Region { get; } = new(0x10000, 1 << 20, 42);

        public static Task<FakePeer> StartAsync(int? closeAfterBytes)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            return Task.FromResult(new FakePeer(listener, closeAfterBytes));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            try
            {
                await _serve;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
            }

            _stop.Dispose();
        }

        private async Task ServeAsync(int? closeAfterBytes)
        {
            using var peer = await _listener.AcceptAsync(_stop.Token);
            await using (var stream = new NetworkStream(peer, ownsSocket: false))
            {
                var offer = await HandshakeExchange.ReceiveOfferAsync(stream, TransportKind.Tcp, TimeSpan.FromSeconds(10), _stop.Token);
                await HandshakeExchange.SendAsync(stream, new HandshakeMessage
                {
                    Type = HandshakeMessageType.Answer,
                    NodeName = "fake",
                    MaxMessageBytes = 4096,
                    RemoteKey = Region.RemoteKey,
                    RegionAddress = Region.Address,
                    RegionLength = Region.Length,
                    Generation = offer.Generation,
                }, TimeSpan.FromSeconds(10), _stop.Token);
            }

            var buffer = new byte[4096];
            int total = 0;
            while (closeAfterBytes is null || total < closeAfterBytes)
            {
                int n = await peer.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }

                total += n;
            }

            peer.Close();
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
    }
}
