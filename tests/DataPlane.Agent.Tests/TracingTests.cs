using DataPlane.Batching.Tracing;
using DataPlane.Edge.Tracing;
using DataPlane.Simulation;
using Microsoft.Extensions.DependencyInjection;

namespace DataPlane.Agent.Tests;

/// <summary>Traces across the hybrid path, exported over OTLP/HTTP to a receiver in the test: agent → daemon →
/// (simulated) Triton on loopback.</summary>
public sealed class TracingTests
{
    private const string ClientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpan = "00f067aa0ba902b7";

    /// <summary>No hedge on a busy machine: the GPU answers, however late its first token is.</summary>
    private static readonly Dictionary<string, string?> NoHedge = new()
    {
        ["Serving:SloMs"] = "120000",
        ["Hedge:InitialMs"] = "60000",
        ["Hedge:MinMs"] = "60000",
        ["Hedge:MaxMs"] = "60000",
    };

    private static Dictionary<string, string?> Tracing(OtlpReceiver receiver, string service) => new()
    {
        ["Tracing:OtlpEndpoint"] = receiver.TracesUrl.ToString(),
        ["Tracing:Protocol"] = "http/protobuf",
        ["Tracing:ServiceName"] = service,
    };

    private static Dictionary<string, string?> With(Dictionary<string, string?> a, Dictionary<string, string?> b) =>
        a.Concat(b).ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public async Task One_escalated_request_yields_one_connected_trace_from_the_agent_to_the_upstream_call()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        string tritonSaw;
        await using (var h = await HybridHarness.StartAsync(agentSettings: With(Tracing(receiver, "agent-under-test"), NoHedge),
            daemonSettings: Tracing(receiver, "daemon-under-test")))
        {
            var triton = h.Triton.Services.GetRequiredService<SimulatedTriton>();
            var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions",
                HybridHarness.Chat("Explain the trade-offs of batching on a GPU", maxTokens: 4, model: "big-70b"),
                ("traceparent", $"00-{ClientTrace}-{ClientSpan}-01")));
            Assert.Equal("gpu", answer.Path);
            tritonSaw = await triton.TraceParents.NextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        // The harness is disposed: both tracer providers flushed what they held.
        var spans = receiver.Received();
        Assert.All(spans, s => Assert.Equal(ClientTrace, s.TraceId));

        var request = Assert.Single(spans, s => s.Scope == AgentTracing.SourceName && s.Kind == ReceivedSpan.Server);
        Assert.Equal("agent-under-test", request.Service);
        Assert.Equal(ClientSpan, request.ParentSpanId);
        Assert.Equal("chat big-70b", request.Name);
        Assert.Equal("big-70b", request.Attributes["gen_ai.request.model"]);
        Assert.Equal("chat", request.Attributes["gen_ai.operation.name"]);
        Assert.Equal("escalate", request.Attributes["dataplane.route"]);
        Assert.Equal("gpu_only_model", request.Attributes["dataplane.route.reason"]);
        Assert.Equal("gpu", request.Attributes["dataplane.path"]);
        Assert.Equal("200", request.Attributes["http.response.status_code"]);
        Assert.Contains("first token", request.Events);

        var gpuLeg = Assert.Single(spans, s => s.Scope == AgentTracing.SourceName && s.Kind == ReceivedSpan.Client);
        Assert.Equal(request.SpanId, gpuLeg.ParentSpanId);
        Assert.Equal("grpc", gpuLeg.Attributes["rpc.system"]);
        Assert.Equal("ModelStreamInfer", gpuLeg.Attributes["rpc.method"]);

        var server = Assert.Single(spans, s => s.Scope == DaemonTracing.SourceName && s.Kind == ReceivedSpan.Server);
        Assert.Equal("daemon-under-test", server.Service);
        Assert.Equal(gpuLeg.SpanId, server.ParentSpanId);
        Assert.Equal("inference.GRPCInferenceService/ModelStreamInfer", server.Name);
        Assert.Equal("inference.GRPCInferenceService", server.Attributes["rpc.service"]);
        Assert.Contains("request forwarded", server.Events);
        Assert.Contains("first response", server.Events);

        var upstream = Assert.Single(spans, s => s.Scope == DaemonTracing.SourceName && s.Kind == ReceivedSpan.Client);
        Assert.Equal(server.SpanId, upstream.ParentSpanId);
        Assert.Equal("127.0.0.1", upstream.Attributes["server.address"]);
        Assert.Equal($"00-{ClientTrace}-{upstream.SpanId}-01", tritonSaw);

        // Nothing else: no local leg for a GPU-only model, one span per hop, all in the client's trace.
        Assert.Equal(4, spans.Count);
    }

    [Fact]
    public async Task Tracing_off_records_nothing_and_passes_the_callers_trace_on()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using (var h = await HybridHarness.StartAsync(agentSettings: NoHedge))
        {
            Assert.False(AgentTracing.Source.HasListeners());
            Assert.False(DaemonTracing.Source.HasListeners());
            var triton = h.Triton.Services.GetRequiredService<SimulatedTriton>();
            var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions",
                HybridHarness.Chat("Explain the trade-offs of batching on a GPU", maxTokens: 3, model: "big-70b"),
                ("traceparent", $"00-{ClientTrace}-{ClientSpan}-01")));
            Assert.Equal("gpu", answer.Path);
            string tritonSaw = await triton.TraceParents.NextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            // Still the caller's trace, one hop further (the agent's child id), as before tracing existed.
            Assert.StartsWith($"00-{ClientTrace}-", tritonSaw, StringComparison.Ordinal);
            Assert.NotEqual(ClientSpan, tritonSaw.Substring(36, 16));
        }

        Assert.Empty(receiver.Received());
        Assert.Equal(0, receiver.Exports);
    }
}
