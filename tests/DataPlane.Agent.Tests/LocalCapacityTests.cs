using System.Text.Json;
using DataPlane.Edge.Serving;
using Microsoft.Extensions.Configuration;
using static DataPlane.Testing.HybridPrompts;

namespace DataPlane.Agent.Tests;

/// <summary>The local runtime's capacity through real sockets: the agent in process with its embedded simulated Pi
/// runtime (which reports its slots on /props), with the real daemon and simulated Triton behind it, or with no GPU
/// pool at all (the pool "down").</summary>
public class LocalCapacityTests
{
    private static readonly (string, string) ForceLocal = ("X-DataPlane-Mode", "local");

    [Fact]
    public async Task A_full_local_runtime_escalates_to_a_healthy_pool_as_local_busy()
    {
        await using var h = await HybridHarness.StartAsync(localTtftMs: 20, localTokensPerSecond: 5,
            agentSettings: new Dictionary<string, string?> { ["Local:Simulation:Parallelism"] = "1" });
        var capacity = h.Agent.Service.LocalCapacity;
        Assert.Equal(1, capacity.Capacity);
        Assert.Equal("reported", capacity.Source);

        // The one slot, held by a stream that has sent its first token (headers go out with it).
        using (var holder = await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 40, stream: true), ForceLocal))
        {
            Assert.Equal(200, (int)holder.StatusCode);
            Assert.Equal(1, capacity.InFlight);

            var answer = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 3)));
            Assert.Equal(200, answer.Status);
            Assert.Equal("gpu", answer.Path);
            Assert.Equal("local_busy", answer.Reason);
            Assert.Equal(GpuText(Short, 3), answer.Text);

            var stream = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 3, stream: true)));
            Assert.Equal("gpu", stream.Path);
            Assert.Equal("local_busy", stream.Reason);

            string metrics = await h.MetricsAsync();
            Assert.Contains("dataplane_agent_decisions_total{route=\"escalate\",reason=\"local_busy\"} 2\n", metrics);
            Assert.Contains("dataplane_agent_local_capacity_generations 1\n", metrics);
            Assert.Contains("dataplane_agent_local_inflight_generations 1\n", metrics);
            Assert.Contains("\"parallelism\": 1", await h.Admin.GetStringAsync("/status"));
        }

        // The client left mid-stream: its slot comes back, once.
        await WaitForAsync(capacity, c => c.InFlight == 0, "the cancelled stream's slot to be released");
        Assert.Equal(capacity.Acquired, capacity.Released);
        Assert.True(capacity.TryAcquire(out var again));
        again!.Dispose();
    }

    [Fact]
    public async Task With_the_pool_down_a_full_runtime_queues_within_the_slo_and_refuses_past_it_with_retry_after()
    {
        await using var agent = await StartStandaloneAsync(new Dictionary<string, string?>
        {
            ["Local:Simulation:Parallelism"] = "1",
            ["Local:Simulation:TimeToFirstTokenMs"] = "20",
            ["Local:Simulation:TokensPerSecond"] = "5",
            ["Local:QueueLength"] = "1",
        });
        using var api = new HttpClient { BaseAddress = agent.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        var capacity = agent.Service.LocalCapacity;
        Assert.False(agent.Service.GpuAvailable);

        var holder = await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 40, stream: true));
        Assert.Equal(200, (int)holder.StatusCode);

        // An objective too short to wait for anything: refused at once.
        var tooShort = await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2), ("X-DataPlane-SLO-Ms", "1"));
        await AssertRateLimitedAsync(tooShort);

        // One may wait (the queue holds one) ...
        var queued = PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2), ("X-DataPlane-SLO-Ms", "20000"));
        await WaitForAsync(capacity, c => c.Queued == 1, "the second request to wait");
        // ... the next finds the queue full, stream or not.
        await AssertRateLimitedAsync(await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2, stream: true)));
        await AssertRateLimitedAsync(await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2)));

        // The holder leaves: the waiting request gets the slot and is answered locally.
        holder.Dispose();
        var served = await Answer.ReadAsync(await queued);
        Assert.Equal(200, served.Status);
        Assert.Equal("local", served.Path);
        Assert.Equal(LocalText(Short, 2), served.Text);

        await WaitForAsync(capacity, c => c.InFlight == 0 && c.Queued == 0, "every slot to be released");
        Assert.Equal(capacity.Acquired, capacity.Released);
        var metrics = await new HttpClient { BaseAddress = agent.AdminAddress }.GetStringAsync("/metrics");
        Assert.Contains("dataplane_agent_local_refused_total{reason=\"slo\"} 1\n", metrics);
        Assert.Contains("dataplane_agent_local_refused_total{reason=\"queue_full\"} 2\n", metrics);
        Assert.Contains("dataplane_agent_rejected_total{status=\"429\"} 3\n", metrics);
        Assert.Contains("dataplane_agent_requests_total{path=\"none\",outcome=\"refused\"} 3\n", metrics);
        Assert.Contains("dataplane_agent_local_queue_wait_seconds_count 1\n", metrics);
    }

    [Fact]
    public async Task A_queued_request_is_served_within_its_slo_when_a_slot_frees_in_time()
    {
        await using var agent = await StartStandaloneAsync(new Dictionary<string, string?>
        {
            ["Local:Simulation:Parallelism"] = "1",
            ["Local:Simulation:TimeToFirstTokenMs"] = "20",
            ["Local:Simulation:TokensPerSecond"] = "50",
        });
        using var api = new HttpClient { BaseAddress = agent.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        var capacity = agent.Service.LocalCapacity;
        // A short answer holds the slot for about 100 ms; the second request waits for it.
        var first = await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 5, stream: true));
        var second = await Answer.ReadAsync(await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2), ("X-DataPlane-SLO-Ms", "5000")));
        var firstAnswer = await Answer.ReadAsync(first);
        Assert.Equal(200, firstAnswer.Status);
        Assert.Equal(200, second.Status);
        Assert.Equal("local", second.Path);
        Assert.True(second.Dataplane!.Value.GetProperty("ttft_ms").GetDouble() < 5000);
        await WaitForAsync(capacity, c => c.InFlight == 0, "every slot to be released");
        Assert.Equal(2, capacity.Acquired);
        Assert.Equal(2, capacity.Released);
        var metrics = await new HttpClient { BaseAddress = agent.AdminAddress }.GetStringAsync("/metrics");
        Assert.Contains("dataplane_agent_local_queue_wait_seconds_count 1\n", metrics);
    }

    [Fact]
    public async Task Slots_are_released_once_after_a_hedge_a_replace_and_a_runtime_failure()
    {
        await using (var h = await HybridHarness.StartAsync(gpuTtftMs: 3000, localTtftMs: 50))
        {
            // Hedge: the GPU is late, the local answer wins, the GPU side is cancelled.
            var hedged = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Hard, maxTokens: 3, stream: true),
                ("X-DataPlane-SLO-Ms", "600")));
            Assert.Equal("hedge", hedged.Reason);
            var capacity = h.Agent.Service.LocalCapacity;
            await WaitForAsync(capacity, c => c.InFlight == 0, "the hedge's local slot to be released");
            Assert.Equal(1, capacity.Acquired);
            Assert.Equal(1, capacity.Released);
        }

        await using (var h = await HybridHarness.StartAsync(gpuTtftMs: 20, gpuTokensPerSecond: 500, localTtftMs: 20, localTokensPerSecond: 5))
        {
            // Replace mode: local tokens stream, the GPU answer replaces them, the local side is cancelled mid-answer.
            var replaced = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat(Short, maxTokens: 20, stream: true),
                ("X-DataPlane-Mode", "speculative"), ("X-DataPlane-Replace", "true")));
            Assert.Equal(200, replaced.Status);
            Assert.Equal("gpu", replaced.AnsweredBy);
            var capacity = h.Agent.Service.LocalCapacity;
            await WaitForAsync(capacity, c => c.InFlight == 0, "the replaced local side's slot to be released");
            Assert.Equal(1, capacity.Acquired);
            Assert.Equal(1, capacity.Released);
        }

        // The runtime is unreachable and there is no pool: 503, and the slot taken for it is back.
        await using var dead = await StartStandaloneAsync(new Dictionary<string, string?> { ["Local:Url"] = "http://127.0.0.1:1" });
        using var api = new HttpClient { BaseAddress = dead.ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        var failed = await PostAsync(api, HybridHarness.Chat(Short, maxTokens: 2));
        Assert.Equal(503, (int)failed.StatusCode);
        var deadCapacity = dead.Service.LocalCapacity;
        await WaitForAsync(deadCapacity, c => c.InFlight == 0, "the failed request's slot to be released");
        Assert.Equal(1, deadCapacity.Acquired);
        Assert.Equal(1, deadCapacity.Released);
    }

    private static async Task AssertRateLimitedAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(429, (int)response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter!.Value.TotalSeconds, 1, 600);
            Assert.True(response.Headers.TryGetValues("retry-after-ms", out var ms));
            Assert.InRange(long.Parse(ms!.Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 600_000);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var error = body.RootElement.GetProperty("error");
            Assert.Equal("requests", error.GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
            Assert.Contains("generations it can at once", error.GetProperty("message").GetString());
        }
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient api, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = HybridHarness.Json(body) };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The agent with its embedded simulated runtime and no GPU pool.</summary>
    private static Task<AgentApp> StartStandaloneAsync(Dictionary<string, string?> settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Listen:Api"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings)
        {
            values[k] = v;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return AgentApp.StartAsync(AgentOptions.Bind(config), config, new DataPlane.Hosting.Metrics.MetricRegistry());
    }

    /// <summary>Waits (on the capacity's change events, at most 30 s) until <paramref name="condition"/> holds.</summary>
    private static async Task WaitForAsync(LocalCapacity capacity, Func<LocalCapacity, bool> condition, string what)
    {
        var met = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (condition(capacity))
            {
                met.TrySetResult();
            }
        }

        capacity.Changed += Check;
        try
        {
            Check();
            await met.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}: {capacity.InFlight} in flight, {capacity.Queued} queued");
        }
        finally
        {
            capacity.Changed -= Check;
        }
    }
}
