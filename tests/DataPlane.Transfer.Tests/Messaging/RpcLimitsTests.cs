using System.Buffers.Binary;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Messaging;
using Prometheus;

namespace DataPlane.Transfer.Tests.Messaging;

/// <summary>The RPC channel's memory limits, over real TCP transfer connections on loopback: buffers grow as bytes
/// arrive, and a peer that exceeds a budget loses its channel, counted and logged once.</summary>
public class RpcLimitsTests
{
    private const int Announced = 256 << 20;

    private static readonly TaskCompletionSource s_never = new();

    [Fact]
    public async Task First_fragments_that_announce_huge_messages_hold_only_what_arrived_and_the_cap_ends_the_channel()
    {
        var (limits, registry) = Limits(partial: 4);
        await using var pair = await TcpPair.StartAsync();
        await using var server = new RpcChannel(pair.Server, Echo, limits);
        await using var client = new RpcChannel(pair.Client, limits: new RpcLimits());

        // The attack from the field: 72-byte first fragments, each announcing a 256 MiB message.
        // (Raw ids far from the client channel's own, which count from 1.)
        for (ulong id = 1001; id <= 1003; id++)
        {
            await pair.Client.SendAsync(FirstFragment(id)).Within();
        }

        // Messages are handled in order: once this answer is back, the three fragments were taken in.
        Assert.Equal("cba"u8.ToArray(), await client.CallAsync(1, "abc"u8.ToArray()).Within());
        // Each holds its first 48 bytes in a first 64 KiB step, not 256 MiB (plus, for a moment, the small call's bytes).
        long most = 3 * ((64 << 10) + RpcLimits.MessageOverhead) + 1024;
        Assert.InRange(server.HeldBytes, 3 * 48, most);
        Assert.InRange(limits.HeldBytes, 3 * 48, most);

        await pair.Client.SendAsync(FirstFragment(1004)).Within();
        var fifth = pair.Client.SendAsync(FirstFragment(1005));
        await server.Completion.Within();
        await Record.ExceptionAsync(() => fifth.Within());

        var ended = Assert.IsType<RpcLimitException>(server.Ended);
        Assert.Equal("partial_messages", ended.Reason);
        Assert.Equal(0, server.HeldBytes);
        Assert.Equal(0, limits.HeldBytes);
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_rpc_limit_violations_total", ("reason", "partial_messages")));
        await pair.Server.Completion.Within(); // the connection is closed, not just the channel
    }

    [Fact]
    public async Task Requests_held_by_their_handlers_count_against_the_connection_budget()
    {
        var (limits, registry) = Limits(maxMessage: 300 << 10, perConnection: 1 << 20);
        await using var pair = await TcpPair.StartAsync();
        await using var server = new RpcChannel(pair.Server, Echo, limits);
        await using var client = new RpcChannel(pair.Client, limits: new RpcLimits());

        // Method 9 never answers: each request stays charged. Three fit in 1 MiB, the fourth does not.
        var calls = Enumerable.Range(0, 4).Select(_ => client.CallAsync(9, new byte[300 << 10])).ToArray();
        await server.Completion.Within();

        Assert.Equal("connection_bytes", Assert.IsType<RpcLimitException>(server.Ended).Reason);
        foreach (var call in calls)
        {
            await Assert.ThrowsAsync<TransferException>(() => call).Within();
        }

        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_rpc_limit_violations_total", ("reason", "connection_bytes")));
        await server.DisposeAsync(); // cancels the handlers still holding requests
        Assert.Equal(0, limits.HeldBytes);
    }

    [Fact]
    public async Task Channels_sharing_a_process_budget_are_bounded_together()
    {
        var (limits, registry) = Limits(maxMessage: 900 << 10, perConnection: 1 << 20, perProcess: 3 << 19);
        await using var first = await TcpPair.StartAsync();
        await using var second = await TcpPair.StartAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<RpcReply> Hold(ushort method, ReadOnlyMemory<byte> request, CancellationToken ct)
        {
            entered.TrySetResult();
            return Echo(9, request, ct);
        }

        await using var firstServer = new RpcChannel(first.Server, Hold, limits);
        await using var secondServer = new RpcChannel(second.Server, Echo, limits);
        await using var firstClient = new RpcChannel(first.Client, limits: new RpcLimits());
        await using var secondClient = new RpcChannel(second.Client, limits: new RpcLimits());

        var held = firstClient.CallAsync(1, new byte[900 << 10]);
        await entered.Task.Within();
        var refused = secondClient.CallAsync(1, new byte[900 << 10]);
        await secondServer.Completion.Within();

        Assert.Equal("process_bytes", Assert.IsType<RpcLimitException>(secondServer.Ended).Reason);
        await Assert.ThrowsAsync<TransferException>(() => refused).Within();
        Assert.Null(firstServer.Ended); // the other channel is untouched
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_rpc_limit_violations_total", ("reason", "process_bytes")));
        await firstServer.DisposeAsync();
        Assert.Equal(0, limits.HeldBytes);
        await Assert.ThrowsAsync<TransferException>(() => held).Within();
    }

    [Fact]
    public async Task Too_many_requests_at_once_end_the_channel()
    {
        var (limits, registry) = Limits(requests: 2);
        await using var pair = await TcpPair.StartAsync();
        await using var server = new RpcChannel(pair.Server, Echo, limits);
        await using var client = new RpcChannel(pair.Client, limits: new RpcLimits());

        var calls = Enumerable.Range(0, 3).Select(_ => client.CallAsync(9, "x"u8.ToArray())).ToArray();
        await server.Completion.Within();

        Assert.Equal("requests", Assert.IsType<RpcLimitException>(server.Ended).Reason);
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_rpc_limit_violations_total", ("reason", "requests")));
        await Task.WhenAll(calls.Select(c => Assert.ThrowsAsync<TransferException>(() => c))).Within();
    }

    [Fact]
    public async Task A_large_message_within_the_limits_is_reassembled_and_everything_is_given_back()
    {
        var (limits, _) = Limits(maxMessage: 8 << 20, perConnection: 9 << 20, perProcess: 18 << 20);
        await using var pair = await TcpPair.StartAsync(client: new ConnectionSettings { MaxMessageBytes = 4096 }, server: new ConnectionSettings { MaxMessageBytes = 4096 });
        var server = new RpcChannel(pair.Server, Echo, limits);
        await using var client = new RpcChannel(pair.Client, limits: limits);
        byte[] big = new byte[5 << 20];
        new Random(5).NextBytes(big);

        byte[] answer = await client.CallAsync(1, big).Within();

        Assert.Equal(big.Reverse(), answer);
        Assert.Equal(0, client.HeldBytes); // a response is the caller's once handed over
        await server.DisposeAsync();
        Assert.Equal(0, limits.HeldBytes);
    }

    [Fact]
    public void Limits_that_cannot_hold_one_message_are_refused()
    {
        Assert.Contains("bytes per connection", Assert.Throws<ArgumentException>(() => new RpcLimits(maxMessageBytes: 1 << 20, bytesPerConnection: 1 << 19)).Message, StringComparison.Ordinal);
        Assert.Contains("bytes per process", Assert.Throws<ArgumentException>(() => new RpcLimits(bytesPerProcess: 1 << 20)).Message, StringComparison.Ordinal);
    }

    private static (RpcLimits Limits, CollectorRegistry Registry) Limits(int maxMessage = Announced, long perConnection = 512L << 20, long perProcess = 1L << 30,
        int partial = 4, int requests = 128)
    {
        var registry = Metrics.NewCustomRegistry();
        return (new RpcLimits(maxMessage, perConnection, perProcess, partial, requests) { Metrics = new TransferMetrics(registry) }, registry);
    }

    private static Task<RpcReply> Echo(ushort method, ReadOnlyMemory<byte> request, CancellationToken ct) =>
        method == 1
            ? Task.FromResult(new RpcReply(request.ToArray().Reverse().ToArray()))
            : s_never.Task.WaitAsync(ct).ContinueWith(_ => new RpcReply(), TaskScheduler.Default);

    /// <summary>A 72-byte first fragment of request <paramref name="id"/> that announces a 256 MiB message.</summary>
    private static byte[] FirstFragment(ulong id)
    {
        byte[] frame = new byte[72];
        BinaryPrimitives.WriteUInt32BigEndian(frame, 0x44505250); // "DPRP"
        frame[4] = 1;
        frame[5] = 1; // request
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(8), id);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(16), Announced);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(20), 0);
        return frame;
    }
}
