using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Handshake;

namespace DataPlane.Transfer.Tests.Handshake;

public class HandshakeExchangeTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Offer_and_answer_are_exchanged()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (a)
        using (b)
        {
            await using var client = new NetworkStream(a);
            await using var server = new NetworkStream(b);
            var offer = new HandshakeMessage { Transport = TransportKind.Tcp, NodeName = "client", FlowClass = "bulk", MaxMessageBytes = 4096 };
            var offering = HandshakeExchange.OfferAsync(client, offer, s_timeout);

            var received = await HandshakeExchange.ReceiveOfferAsync(server, TransportKind.Tcp, s_timeout).Within();
            Assert.Equal("client", received.NodeName);
            await HandshakeExchange.SendAsync(server, new HandshakeMessage { Type = HandshakeMessageType.Answer, NodeName = "server" }, s_timeout).Within();

            var answer = await offering.Within();
            Assert.Equal("server", answer.NodeName);
            Assert.Equal(HandshakeMessageType.Answer, answer.Type);
        }
    }

    [Fact]
    public async Task Transport_mismatch_is_rejected_and_the_offerer_learns_why()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (a)
        using (b)
        {
            await using var client = new NetworkStream(a);
            await using var server = new NetworkStream(b);
            var offer = new HandshakeMessage { Transport = TransportKind.Rdma, QueuePairNumber = 7, Mtu = 3 };
            var offering = HandshakeExchange.OfferAsync(client, offer, s_timeout);

            var serverError = await Assert.ThrowsAsync<TransferException>(() => HandshakeExchange.ReceiveOfferAsync(server, TransportKind.Tcp, s_timeout)).Within();
            Assert.Equal(HandshakeStage.Negotiate, serverError.Stage);

            var clientError = await Assert.ThrowsAsync<TransferException>(() => offering).Within();
            Assert.Equal(TransferStatus.HandshakeFailed, clientError.Status);
            Assert.Equal(HandshakeStage.Negotiate, clientError.Stage);
            Assert.Contains("another transport", clientError.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Unsupported_version_fails_at_decode_and_is_rejected_as_such()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (a)
        using (b)
        {
            await using var client = new NetworkStream(a);
            await using var server = new NetworkStream(b);
            byte[] bytes = HandshakeCodec.Encode(new HandshakeMessage());
            bytes[5] = 9;
            await client.WriteAsync(bytes);

            var e = await Assert.ThrowsAsync<TransferException>(() => HandshakeExchange.ReceiveOfferAsync(server, TransportKind.Tcp, s_timeout)).Within();
            Assert.Equal(HandshakeStage.Decode, e.Stage);
            Assert.Contains("version", e.Message, StringComparison.Ordinal);

            var reject = await HandshakeExchange.ReceiveAsync(client, s_timeout).Within();
            Assert.Equal(HandshakeRejectReason.UnsupportedVersion, reject.RejectReason);
        }
    }

    [Fact]
    public async Task Silence_times_out_at_the_receive_stage()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (a)
        using (b)
        {
            await using var server = new NetworkStream(b);
            var e = await Assert.ThrowsAsync<TransferException>(() => HandshakeExchange.ReceiveAsync(server, TimeSpan.FromMilliseconds(100))).Within();
            Assert.Equal(HandshakeStage.Receive, e.Stage);
            Assert.Contains("within", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_peer_that_closes_fails_at_the_receive_stage()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (b)
        {
            await using var server = new NetworkStream(b);
            a.Dispose();
            var e = await Assert.ThrowsAsync<TransferException>(() => HandshakeExchange.ReceiveAsync(server, s_timeout)).Within();
            Assert.Equal(HandshakeStage.Receive, e.Stage);
        }
    }

    [Fact]
    public async Task Caller_cancellation_is_not_reported_as_a_timeout()
    {
        var (a, b) = await TestSupport.SocketPairAsync();
        using (a)
        using (b)
        {
            await using var server = new NetworkStream(b);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => HandshakeExchange.ReceiveAsync(server, s_timeout, cts.Token)).Within();
        }
    }
}
