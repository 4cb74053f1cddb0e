using System.Text;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Messaging;

namespace DataPlane.Transfer.Tests.Messaging;

/// <summary>Request/response over real TCP transfer connections on loopback.</summary>
public class RpcChannelTests
{
    private static Task<RpcReply> Echo(ushort method, ReadOnlyMemory<byte> request, CancellationToken ct) =>
        method switch
        {
            1 => Task.FromResult(new RpcReply(request.ToArray().Reverse().ToArray())),
            2 => Task.FromResult(RpcReply.Fail(8, "queue of model 'm' is full")),
            3 => throw new InvalidOperationException("boom"),
            _ => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => new RpcReply(), TaskScheduler.Default),
        };

    [Fact]
    public async Task Calls_go_both_ways_and_large_messages_are_fragmented_and_reassembled()
    {
        // 4 KiB messages force a 3 MiB request into hundreds of fragments each way.
        await using var pair = await TcpPair.StartAsync(client: new ConnectionSettings { MaxMessageBytes = 4096 }, server: new ConnectionSettings { MaxMessageBytes = 4096 });
        await using var client = new RpcChannel(pair.Client, Echo);
        await using var server = new RpcChannel(pair.Server, Echo);
        byte[] big = new byte[3 << 20];
        new Random(3).NextBytes(big);

        byte[] answer = await client.CallAsync(1, big).Within();
        byte[] back = await server.CallAsync(1, "abc"u8.ToArray()).Within();
        byte[] empty = await client.CallAsync(1, ReadOnlyMemory<byte>.Empty).Within();

        Assert.Equal(big.Reverse(), answer);
        Assert.Equal("cba"u8.ToArray(), back);
        Assert.Empty(empty);
    }

    [Fact]
    public async Task Peer_errors_and_handler_failures_come_back_as_faults_with_their_status()
    {
        await using var pair = await TcpPair.StartAsync();
        await using var client = new RpcChannel(pair.Client);
        await using var server = new RpcChannel(pair.Server, Echo);

        var full = await Assert.ThrowsAsync<RpcFaultException>(() => client.CallAsync(2, "x"u8.ToArray()).Within());
        var boom = await Assert.ThrowsAsync<RpcFaultException>(() => client.CallAsync(3, "x"u8.ToArray()).Within());
        var none = await Assert.ThrowsAsync<RpcFaultException>(() => server.CallAsync(1, "x"u8.ToArray()).Within());

        Assert.Equal((8, "queue of model 'm' is full"), (full.Status, full.Message));
        Assert.Equal(13, boom.Status);
        Assert.Contains("boom", boom.Message, StringComparison.Ordinal);
        Assert.Equal(12, none.Status); // the client side serves no methods
        Assert.Equal("cba", Encoding.ASCII.GetString(await client.CallAsync(1, "abc"u8.ToArray()).Within())); // still working
    }

    [Fact]
    public async Task Many_concurrent_calls_each_get_their_own_answer()
    {
        await using var pair = await TcpPair.StartAsync();
        await using var client = new RpcChannel(pair.Client);
        await using var server = new RpcChannel(pair.Server, Echo);

        var calls = Enumerable.Range(0, 200).Select(i => client.CallAsync(1, BitConverter.GetBytes(i))).ToArray();
        var answers = await Task.WhenAll(calls).Within();

        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(BitConverter.GetBytes(i).Reverse(), answers[i]);
        }
    }

    [Fact]
    public async Task A_peer_that_goes_away_fails_pending_calls_instead_of_leaving_them_hanging()
    {
        await using var pair = await TcpPair.StartAsync();
        await using var client = new RpcChannel(pair.Client);
        var server = new RpcChannel(pair.Server, Echo);
        var pending = client.CallAsync(9, "wait"u8.ToArray()); // the handler never answers

        await server.DisposeAsync();

        var e = await Assert.ThrowsAsync<TransferException>(() => pending.Within());
        Assert.Equal(TransferStatus.ConnectionLost, e.Status);
        await Assert.ThrowsAsync<TransferException>(() => client.CallAsync(1, "x"u8.ToArray()).Within());
    }

    [Fact]
    public async Task A_peer_that_breaks_the_framing_ends_the_channel_with_the_reason()
    {
        await using var pair = await TcpPair.StartAsync();
        await using var server = new RpcChannel(pair.Server, Echo);

        // The server drops the connection as it reads the frame, so the send itself may or may not be acknowledged.
        var send = pair.Client.SendAsync("not an RPC frame at all, just bytes"u8.ToArray());
        await server.Completion.Within();
        await Record.ExceptionAsync(() => send.Within());

        Assert.IsType<InvalidDataException>(server.Ended);
        Assert.Contains("magic", server.Ended!.Message, StringComparison.Ordinal);
    }
}
