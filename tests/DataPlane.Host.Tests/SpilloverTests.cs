using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;

namespace DataPlane.Host.Tests;

/// <summary>Spillover between two real daemons over the transfer engine (TCP on loopback): a host whose only instance
/// is busy sends whole batches to its peer, and every client still gets its own answer.</summary>
public class SpilloverTests
{
    private static Dictionary<string, string?> Origin(int peerPort) => new()
    {
        ["Batching:Models:slow:SpillQueueThreshold"] = "2",
        ["Batching:Models:slow:PipelineDepth"] = "0",
        ["Transfer:Transport"] = "tcp",
        ["Transfer:Peers:0"] = $"127.0.0.1:{peerPort}",
        ["Transfer:PeerCooldownSeconds"] = "30",
    };

    [Fact]
    public async Task A_busy_host_spills_batches_to_its_peer_and_every_request_gets_its_own_answer()
    {
        await using var peer = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Transfer:Listen"] = "127.0.0.1:0",
            ["Transfer:Transport"] = "tcp",
        }, SlowModels.With(baseMs: 20));
        int peerPort = peer.Daemon.TransferAddress!.Port;
        await using var origin = await DaemonHarness.StartAsync(Origin(peerPort), SlowModels.With(baseMs: 100));

        var answers = await Task.WhenAll(Enumerable.Range(0, 48).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        Assert.Equal(48, answers.Select(a => a.Response.Id).Distinct().Count());
        string metrics = await origin.MetricsTextAsync();
        double spilled = Sample(metrics, $"dataplane_spilled_batches_total{{model=\"slow\",peer=\"127.0.0.1:{peerPort}\"}}");
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
        Assert.Contains($"dataplane_spill_peer_up{{peer=\"127.0.0.1:{nobody}\"}} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_not_in_the_allowed_list_cannot_spill_here_and_its_batches_run_at_home()
    {
        await using var peer = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Transfer:Listen"] = "127.0.0.1:0",
            ["Transfer:Transport"] = "tcp",
            ["Transfer:AllowedPeers:0"] = "10.9.9.9",
        }, SlowModels.With(baseMs: 20));
        int peerPort = peer.Daemon.TransferAddress!.Port;
        await using var origin = await DaemonHarness.StartAsync(Origin(peerPort), SlowModels.With(baseMs: 30));

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Call(origin, i)));

        Assert.All(answers, a => Assert.Equal(a.Expected, Tensors.Output0(a.Response)));
        var stats = await peer.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.Equal(0UL, stats.ModelStats[0].ExecutionCount); // the peer ran nothing
        Assert.True(Sample(await origin.MetricsTextAsync(), "dataplane_spilled_batches_total{model=\"slow\",peer=\"failed\"}") >= 1);
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
