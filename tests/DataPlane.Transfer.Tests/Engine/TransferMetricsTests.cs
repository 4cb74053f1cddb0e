using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using Prometheus;

namespace DataPlane.Transfer.Tests.Engine;

public class TransferMetricsTests
{
    [Fact]
    public async Task Transfers_are_counted_by_transport_peer_and_op()
    {
        await using var pair = await TcpPair.StartAsync();
        using var local = TestSupport.Region(pair.ClientTransport, 1000);
        var remote = pair.Client.PeerRegion!.Value;

        await pair.Client.WriteAsync(local.AsSlice(), remote, 0).Within();
        await pair.Client.WriteAsync(local.Slice(0, 500), remote, 0).Within();
        await pair.Client.ReadAsync(local.Slice(0, 300), remote, 0).Within();
        await pair.Client.SendAsync(new byte[7]).Within();
        using (await pair.Server.ReceiveAsync().AsTask().Within())
        {
        }

        var r = pair.Registry;
        Assert.Equal(1500, await TestSupport.SampleAsync(r, "dataplane_transfer_bytes_total", ("transport", "tcp"), ("peer", "server"), ("op", "write")));
        Assert.Equal(2, await TestSupport.SampleAsync(r, "dataplane_transfer_operations_total", ("transport", "tcp"), ("peer", "server"), ("op", "write")));
        Assert.Equal(300, await TestSupport.SampleAsync(r, "dataplane_transfer_bytes_total", ("peer", "server"), ("op", "read")));
        Assert.Equal(7, await TestSupport.SampleAsync(r, "dataplane_transfer_bytes_total", ("peer", "server"), ("op", "send")));
        Assert.Equal(7, await TestSupport.SampleAsync(r, "dataplane_transfer_bytes_total", ("peer", "client"), ("op", "recv")));
        Assert.Equal(1, await TestSupport.SampleAsync(r, "dataplane_transfer_operations_total", ("peer", "client"), ("op", "recv")));
        Assert.Equal(2, await TestSupport.SampleAsync(r, "dataplane_transfer_connections", ("transport", "tcp")));
    }

    [Fact]
    public async Task Completion_errors_are_counted_by_status()
    {
        await using var pair = await TcpPair.StartAsync(regionBytes: 100);
        using var local = TestSupport.Region(pair.ClientTransport, 200);
        var remote = pair.Client.PeerRegion!.Value;

        await Assert.ThrowsAsync<TransferException>(() => pair.Client.WriteAsync(local.AsSlice(), remote, 0)).Within();
        await Assert.ThrowsAsync<TransferException>(() => pair.Client.ReadAsync(local.AsSlice(), remote, 0)).Within();

        Assert.Equal(2, await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_completion_errors_total", ("transport", "tcp"), ("status", "remote_access_error")));
        Assert.Equal(0, await TestSupport.SampleAsync(pair.Registry, "dataplane_transfer_operations_total", ("op", "write")));
    }

    [Fact]
    public async Task A_peer_that_changes_transport_has_only_one_active()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        metrics.PeerTransport("p", TransportKind.Rdma);
        metrics.PeerTransport("p", TransportKind.Tcp);

        Assert.Equal(0, await TestSupport.SampleAsync(registry, "dataplane_transfer_peer_transport", ("peer", "p"), ("transport", "rdma")));
        Assert.Equal(1, await TestSupport.SampleAsync(registry, "dataplane_transfer_peer_transport", ("peer", "p"), ("transport", "tcp")));
    }

    [Fact]
    public void Verbs_completion_statuses_map_to_transfer_statuses()
    {
        Assert.Equal(TransferStatus.Success, TransferStatusNames.FromWorkCompletionStatus(0));
        Assert.Equal(TransferStatus.Flushed, TransferStatusNames.FromWorkCompletionStatus(5));
        Assert.Equal(TransferStatus.RemoteAccessError, TransferStatusNames.FromWorkCompletionStatus(10));
        Assert.Equal(TransferStatus.Timeout, TransferStatusNames.FromWorkCompletionStatus(12));
        Assert.Equal(TransferStatus.Timeout, TransferStatusNames.FromWorkCompletionStatus(13));
        Assert.Equal(TransferStatus.GeneralError, TransferStatusNames.FromWorkCompletionStatus(21));
        Assert.Equal("remote_access_error", TransferStatus.RemoteAccessError.Name());
        Assert.Equal("rtr", HandshakeStage.ReadyToReceive.Name());
    }
}
