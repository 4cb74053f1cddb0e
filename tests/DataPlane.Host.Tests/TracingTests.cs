using DataPlane.Batching.Tracing;
using DataPlane.Host.Configuration;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Hosting.Configuration;
using DataPlane.Simulation;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DataPlane.Host.Tests;

/// <summary>The daemon's spans for batched requests, exported over OTLP/HTTP to a receiver in the test.</summary>
public class TracingTests
{
    [Fact]
    public async Task A_batch_has_its_own_span_linked_to_every_member_and_triton_gets_the_upstream_calls_context()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var traces = Enumerable.Range(1, 4).Select(i => ($"{i:x2}" + new string('a', 30), $"{i:x2}" + new string('b', 14))).ToArray();
        string tritonSaw;
        await using (var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Tracing:OtlpEndpoint"] = receiver.TracesUrl.ToString(),
            ["Tracing:Protocol"] = "http/protobuf",
            // Four requests make one batch: the preferred size, with a queue delay far longer than the test.
            ["Batching:Models:simple:Policy"] = "Fixed",
            ["Batching:Models:simple:PreferredBatchSizes:0"] = "4",
            ["Batching:Models:simple:MaxQueueDelayMs"] = "60000",
        }))
        {
            var triton = h.Simulator.Services.GetRequiredService<SimulatedTriton>();
            while (triton.TraceParents.TryTake(out _))
            {
                // Readiness probes carry no trace; anything earlier is not this test's.
            }

            var calls = traces.Select((t, i) => h.Client.ModelInferAsync(Tensors.Simple(1, i),
                new Metadata { { "traceparent", $"00-{t.Item1}-{t.Item2}-01" } }).ResponseAsync).ToArray();
            await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(30));
            tritonSaw = await triton.TraceParents.NextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        var spans = receiver.Received().Where(s => s.Scope == DaemonTracing.SourceName).ToList();
        var servers = traces.Select(t => Assert.Single(spans, s => s.TraceId == t.Item1 && s.Kind == ReceivedSpan.Server)).ToList();
        foreach (var (server, (trace, parent)) in servers.Zip(traces))
        {
            Assert.Equal(parent, server.ParentSpanId);
            Assert.Equal("inference.GRPCInferenceService/ModelInfer", server.Name);
            Assert.Equal("ModelInfer", server.Attributes["rpc.method"]);
            Assert.Equal("0", server.Attributes["rpc.grpc.status_code"]);
            var wait = Assert.Single(spans, s => s.TraceId == trace && s.Name == "queue wait");
            Assert.Equal(server.SpanId, wait.ParentSpanId);
        }

        // One batch, in its own trace, linked to the four request spans; the upstream call is its child.
        var batch = Assert.Single(spans, s => s.Name == "batch simple" && s.Links.Any(l => servers.Any(r => r.SpanId == l.SpanId)));
        Assert.DoesNotContain(batch.TraceId, traces.Select(t => t.Item1));
        Assert.Equal(servers.Select(s => (s.TraceId, s.SpanId)).Order(), batch.Links.Order());
        Assert.Equal("4", batch.Attributes["dataplane.batch.requests"]);
        var upstream = Assert.Single(spans, s => s.TraceId == batch.TraceId && s.Kind == ReceivedSpan.Client);
        Assert.Equal(batch.SpanId, upstream.ParentSpanId);
        Assert.Equal("ModelInfer", upstream.Attributes["rpc.method"]);
        // Sampled; a trace that starts here may also carry W3C level 2's random-trace-id flag (0x02).
        Assert.Matches($"^00-{batch.TraceId}-{upstream.SpanId}-0[13]$", tritonSaw);
    }

    [Theory]
    [InlineData("Tracing:OtlpEndpoint", "collector:4317", "not an http:// or https:// URL")]
    [InlineData("Tracing:Protocol", "udp", "not an OTLP protocol (grpc or http/protobuf)")]
    [InlineData("Tracing:SamplingRatio", "1.5", "Tracing:SamplingRatio")]
    public void Bad_tracing_settings_are_named(string key, string value, string expected)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var errors = Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Bind(config)).Errors;
        var error = Assert.Single(errors);
        Assert.Contains(key, error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
