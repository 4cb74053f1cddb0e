using System.Diagnostics;
using static DataPlane.Testing.HybridPrompts;

namespace DataPlane.Agent.Tests;

/// <summary>The agent's paths through the real daemon and simulated Triton, in process, on loopback.</summary>
public class HybridTests
{
    [Fact]
    public async Task Short_prompts_are_answered_locally_and_hard_ones_by_the_gpu()
    {
        await using var h = await HybridHarness.StartAsync();
        var local = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short)));
        Assert.Equal(200, local.Status);
        Assert.Equal("local", local.PathHeader);
        Assert.Equal("local", local.Path);
        Assert.Equal("classifier_confident_local", local.Reason);
        Assert.Equal(LocalText(Short, 6), local.Text);

        var gpu = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Hard)));
        Assert.Equal("gpu", gpu.Path);
        Assert.Equal("classifier_escalate", gpu.Reason);
        Assert.Equal(GpuText(Hard, 6), gpu.Text);

        string metrics = await h.MetricsAsync();
        Assert.Contains("dataplane_agent_requests_total{path=\"local\",outcome=\"ok\"} 1", metrics);
        Assert.Contains("dataplane_agent_requests_total{path=\"gpu\",outcome=\"ok\"} 1", metrics);
        Assert.Contains("dataplane_agent_decisions_total{route=\"escalate\",reason=\"classifier_escalate\"} 1", metrics);
        Assert.Matches("dataplane_agent_hop_seconds_count\\{hop=\"host_triton\"\\} 1", metrics);
        Assert.Matches("dataplane_agent_hop_seconds_count\\{hop=\"agent_host\"\\} 1", metrics);
        Assert.Matches("dataplane_agent_decision_seconds_count 2", metrics);
    }

    [Fact]
    public async Task Streams_follow_the_openai_chunk_format()
    {
        await using var h = await HybridHarness.StartAsync();
        var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 5, stream: true, includeUsage: true)));
        Assert.Equal("local", answer.PathHeader);
        Assert.Equal(LocalText(Short, 5), answer.Text);
        Assert.Equal("usage", answer.Events[^2]);
        Assert.Equal("[DONE]", answer.Events[^1]);
        Assert.Contains("\"role\":\"assistant\"", answer.Raw);
        Assert.Contains("\"object\":\"chat.completion.chunk\"", answer.Raw);
        Assert.Contains("\"finish_reason\":\"length\"", answer.Raw);
        Assert.Contains("\"choices\":[],\"usage\":{\"prompt_tokens\":", answer.Raw);

        var completion = await Answer.ReadAsync(await h.PostAsync("/v1/completions", """{"model":"local-small","prompt":"hello","max_tokens":3}"""));
        Assert.Equal(200, completion.Status);
        Assert.Contains("\"object\":\"text_completion\"", completion.Raw);
        Assert.Equal("local", completion.Path);
    }

    [Fact]
    public async Task Gpu_only_models_always_escalate()
    {
        await using var h = await HybridHarness.StartAsync();
        var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, model: "big-70b")));
        Assert.Equal("gpu", answer.Path);
        Assert.Equal("gpu_only_model", answer.Reason);
    }

    [Fact]
    public async Task Speculative_append_only_uses_the_gpu_only_when_it_finishes_before_the_first_local_token()
    {
        // A fast GPU (done in about 40 ms) against a local runtime that needs 300 ms for its first token.
        await using (var fast = await HybridHarness.StartAsync(gpuTtftMs: 20, gpuTokensPerSecond: 200, localTtftMs: 300))
        {
            var answer = await Answer.ReadAsync(await fast.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 4, stream: true),
                ("X-DataPlane-Mode", "speculative")));
            Assert.Equal("speculative", answer.Path);
            Assert.Equal("gpu", answer.AnsweredBy);
            Assert.Equal(GpuText(Short, 4), answer.Text);
            Assert.False(answer.Replaced);
        }

        // A slow GPU: the local answer streams and the GPU request is cancelled.
        await using var slow = await HybridHarness.StartAsync(gpuTtftMs: 2000, localTtftMs: 50);
        var local = await Answer.ReadAsync(await slow.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 4, stream: true),
            ("X-DataPlane-Mode", "speculative")));
        Assert.Equal("speculative", local.Path);
        Assert.Equal("local", local.AnsweredBy);
        Assert.Equal(LocalText(Short, 4), local.Text);
        Assert.Contains("dataplane_agent_cancelled_total{side=\"gpu\"} 1", await slow.MetricsAsync());
    }

    [Fact]
    public async Task Speculative_replace_mode_sends_a_replace_event_then_the_gpu_text()
    {
        // Local tokens start at 50 ms and keep coming; the GPU answer is complete at about 400 ms.
        await using var h = await HybridHarness.StartAsync(gpuTtftMs: 300, gpuTokensPerSecond: 100, localTtftMs: 50, localTokensPerSecond: 20);
        var response = await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 8, stream: true),
            ("X-DataPlane-Mode", "speculative"), ("X-DataPlane-Replace", "true"));
        var answer = await Answer.ReadAsync(response);
        Assert.Equal("speculative", answer.PathHeader);
        Assert.True(answer.Replaced, answer.Raw);
        Assert.Contains("replace", answer.Events);
        Assert.Contains("event: replace\ndata: {", answer.Raw);
        Assert.Contains("\"dataplane\":{\"replace\":true,\"path\":\"gpu\"}", answer.Raw);
        Assert.Equal(GpuText(Short, 8), answer.Text);
        Assert.Equal("gpu", answer.AnsweredBy);
        Assert.True(answer.Dataplane!.Value.GetProperty("replaced").GetBoolean());
    }

    [Fact]
    public async Task Speculative_json_answers_take_whichever_side_completes_first()
    {
        await using var h = await HybridHarness.StartAsync(gpuTtftMs: 2000, localTtftMs: 50);
        var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 3),
            ("X-DataPlane-Mode", "speculative")));
        Assert.Equal("speculative", answer.Path);
        Assert.Equal("local", answer.AnsweredBy);
        Assert.Equal(LocalText(Short, 3), answer.Text);
    }

    [Fact]
    public async Task A_slow_gpu_is_hedged_with_a_local_answer_within_the_slo()
    {
        await using var h = await HybridHarness.StartAsync(gpuTtftMs: 3000, localTtftMs: 100);
        var watch = Stopwatch.StartNew();
        var response = await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Hard, maxTokens: 3, stream: true),
            ("X-DataPlane-SLO-Ms", "600"));
        var answer = await Answer.ReadAsync(response);
        Assert.Equal("local", answer.Path);
        Assert.Equal("hedge", answer.Reason);
        Assert.Equal(LocalText(Hard, 3), answer.Text);
        double ttft = answer.Dataplane!.Value.GetProperty("ttft_ms").GetDouble();
        Assert.True(ttft < 1500, $"first token after {ttft} ms; the GPU needed 3000");
        Assert.True(watch.ElapsedMilliseconds < 2900, "the answer must not wait for the GPU");
        Assert.Contains("dataplane_agent_hedges_total{winner=\"local\"} 1", await h.MetricsAsync());
    }

    [Fact]
    public async Task Low_token_confidence_escalates_a_json_answer_mid_stream()
    {
        // A token-confidence threshold no local token reaches: every local answer is doubted.
        await using var h = await HybridHarness.StartAsync(localTtftMs: 20, localTokensPerSecond: 200,
            agentSettings: new Dictionary<string, string?> { ["Routing:TokenConfidenceThreshold"] = "0.9999", ["Routing:TokenConfidenceK"] = "2" });
        var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 12)));
        Assert.Equal("speculative", answer.Path);
        Assert.Equal("low_token_confidence", answer.Reason);
        Assert.Equal("gpu", answer.AnsweredBy);
        Assert.Equal(GpuText(Short, 12), answer.Text);
        Assert.Contains("dataplane_agent_decisions_total{route=\"escalate\",reason=\"low_token_confidence\"} 1", await h.MetricsAsync());
    }

    [Fact]
    public async Task Gpu_outage_degrades_every_request_to_a_local_answer_and_opens_the_breaker()
    {
        await using var h = await HybridHarness.StartAsync(localTtftMs: 10, localTokensPerSecond: 500,
            agentSettings: new Dictionary<string, string?> { ["Breaker:CooldownSeconds"] = "60", ["Local:Simulation:Parallelism"] = "64" });
        await h.StopTritonAndDaemonAsync();
        // Three failures in a row open the breaker; after that no request tries the dead pool.
        var answers = new List<Answer>();
        for (int i = 0; i < 5; i++)
        {
            answers.Add(await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat($"{Hard} ({i})", maxTokens: 2))));
        }

        answers.AddRange(await Task.WhenAll(Enumerable.Range(5, 55).Select(async i =>
            await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat($"{Hard} ({i})", maxTokens: 2))))));
        Assert.All(answers, a =>
        {
            Assert.Equal(200, a.Status);
            Assert.Equal("degraded", a.Path);
            Assert.Equal("local", a.AnsweredBy);
        });
        string metrics = await h.MetricsAsync();
        Assert.Contains("dataplane_agent_gpu_breaker_state 2", metrics);
        Assert.Contains("dataplane_agent_gpu_failures_total{status=\"Unavailable\"} 3", metrics);
        Assert.Contains("\"breaker\": \"open\"", await h.Admin.GetStringAsync("/status"));
        Assert.Equal("ready\n", await h.Api.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task Mutual_tls_carries_escalations_and_rejects_agents_without_a_valid_certificate()
    {
        // A late hedge (2 s, the longest) and a loose objective: on a busy machine the first GPU answer over a new TLS
        // connection can take longer than the default hedge delay (250 ms), and then the local hedge answers.
        await using (var trusted = await HybridHarness.StartAsync(mutualTls: true,
            agentSettings: new Dictionary<string, string?> { ["Hedge:InitialMs"] = "2000", ["Serving:SloMs"] = "10000" }))
        {
            Assert.Equal(1, await trusted.Agent.GpuWarmUp);
            // Forced to the GPU: this test is about the connection, not the classifier.
            var answer = await Answer.ReadAsync(await trusted.PostAsync("/v1/chat/completions", HybridHarness.Chat(Hard),
                ("X-DataPlane-Mode", "gpu")));
            Assert.True(answer.Path == "gpu", answer.Raw);
        }

        foreach (string certificate in new[] { "none", "foreign" })
        {
            await using var rejected = await HybridHarness.StartAsync(mutualTls: true, agentCertificate: certificate, localTtftMs: 10);
            Assert.Equal(0, await rejected.Agent.GpuWarmUp);
            var answer = await Answer.ReadAsync(await rejected.PostAsync("/v1/chat/completions", HybridHarness.Chat(Hard)));
            // A local answer: after the refused GPU call, or from the local hedge when a busy machine makes the refused
            // handshake slower than the hedge delay.
            Assert.Contains((answer.Path, answer.Reason), new[] { ("degraded", "gpu_failed"), ("local", "hedge") });
        }
    }
}
