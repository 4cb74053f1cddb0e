using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Api;
using DataPlane.Edge.Runtimes;
using DataPlane.Edge.Runtimes.Simulation;

namespace DataPlane.Edge.Tests.Runtimes.Simulation;

/// <summary>The simulated local runtime, reached the way the agent reaches it: through LlamaCppRuntime.</summary>
public sealed class SimulatedLocalRuntimeServerTests : IDisposable
{
    private const string Greeting = "Hello there, how are you today?";
    private readonly HttpClient _http = TestHttp.CreateClient();

    public void Dispose() => _http.Dispose();

    private static Task<SimulatedLocalRuntimeServer> StartAsync(SimulatedLocalOptions? options = null) =>
        SimulatedLocalRuntimeServer.StartAsync(options ?? new SimulatedLocalOptions(), new IPEndPoint(IPAddress.Loopback, 0));

    private ILocalRuntime Runtime(SimulatedLocalRuntimeServer server) =>
        LocalRuntimeFactory.Create("simulated", server.Address, server.Options.ModelName, _http, TimeSpan.FromSeconds(30));

    private static LocalRequest ChatRequest(string prompt, int maxTokens) => new()
    {
        Model = "",
        Messages = [new ChatMessage("system", "You are a helpful assistant."), new ChatMessage("user", prompt)],
        MaxTokens = maxTokens,
    };

    [Fact]
    public async Task A_chat_streams_the_model_s_tokens_and_logprobs_after_the_first_token_delay()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TokensPerSecond = 50 });
        var runtime = Runtime(server);
        var expected = SimulatedLocalModel.Tokens(Greeting, 6);
        var stopwatch = Stopwatch.StartNew();
        TimeSpan? firstToken = null;
        var chunks = new List<TokenChunk>();

        await foreach (var chunk in runtime.StreamAsync(ChatRequest(Greeting, 6), CancellationToken.None))
        {
            firstToken ??= stopwatch.Elapsed;
            chunks.Add(chunk);
        }

        Assert.Equal("simulated", runtime.Name);
        Assert.InRange(firstToken!.Value.TotalSeconds, 0.25, 10);
        Assert.Equal(expected.Select(t => new TokenChunk(t.Text, t.Logprob)), chunks.SkipLast(1));
        var final = chunks[^1];
        Assert.Equal("length", final.FinishReason);
        Assert.Equal(6, final.CompletionTokens);
        Assert.True(final.PromptTokens > 0);
        Assert.Equal(1, server.RequestsCompleted);
    }

    [Fact]
    public async Task The_default_pace_is_about_8_tokens_per_second()
    {
        await using var server = await StartAsync();
        var stopwatch = Stopwatch.StartNew();

        var chunks = await TestHttp.CollectAsync(Runtime(server).StreamAsync(ChatRequest(Greeting, 5), CancellationToken.None));

        // First token at 0.3 s, then 4 more at 1/8 s each: 0.8 s.
        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 0.75, 10);
        Assert.Equal(6, chunks.Count);
        Assert.All(chunks.SkipLast(1), c => Assert.NotNull(c.Logprob));
    }

    [Fact]
    public async Task An_answer_shorter_than_the_cap_finishes_with_stop()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 1000 });
        int natural = SimulatedLocalModel.NaturalLength(Greeting);

        var chunks = await TestHttp.CollectAsync(Runtime(server).StreamAsync(ChatRequest(Greeting, 200), CancellationToken.None));

        Assert.Equal(natural + 1, chunks.Count);
        Assert.Equal(new TokenChunk("", null, "stop", chunks[^1].PromptTokens, natural), chunks[^1]);
    }

    [Fact]
    public async Task A_plain_prompt_streams_from_v1_completions()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 1000 });
        const string prompt = "Derive the quadratic formula step by step";
        var request = new LocalRequest { Model = "", Prompt = prompt, MaxTokens = 8 };

        var chunks = await TestHttp.CollectAsync(Runtime(server).StreamAsync(request, CancellationToken.None));

        Assert.Equal(SimulatedLocalModel.Tokens(prompt, 8).Select(t => new TokenChunk(t.Text, t.Logprob)), chunks.SkipLast(1));
        Assert.Equal("length", chunks[^1].FinishReason);
        Assert.Equal(8, chunks[^1].CompletionTokens);
    }

    [Fact]
    public async Task Without_logprobs_the_chunks_carry_none()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 1000 });

        var chunks = await TestHttp.CollectAsync(Runtime(server).StreamAsync(ChatRequest(Greeting, 3) with { Logprobs = false }, CancellationToken.None));

        Assert.Equal(4, chunks.Count);
        Assert.All(chunks, c => Assert.Null(c.Logprob));
    }

    [Fact]
    public async Task Stream_false_answers_one_chat_completion_object()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TokensPerSecond = 100 });
        var expected = SimulatedLocalModel.Tokens(Greeting, 5);
        var stopwatch = Stopwatch.StartNew();

        using var response = await _http.PostAsync(new Uri(server.Address, "v1/chat/completions"), Json(
            $$"""{"messages":[{"role":"user","content":"{{Greeting}}"}],"max_tokens":5,"stream":false,"logprobs":true,"top_logprobs":1}"""));

        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 0.25, 10);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SimulatedLocalRuntimeServer.ServerName, response.Headers.Server.ToString());
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.Equal("local-small-sim", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(string.Concat(expected.Select(t => t.Text)), choice.GetProperty("message").GetProperty("content").GetString());
        var logprobs = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        Assert.Equal(expected.Select(t => t.Logprob), logprobs.Select(l => l.GetProperty("logprob").GetDouble()));
        Assert.Equal(expected.Select(t => t.Text), logprobs.Select(l => l.GetProperty("token").GetString()));
        Assert.Equal(5, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Stream_false_answers_one_text_completion_object()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 1000 });

        using var response = await _http.PostAsync(new Uri(server.Address, "v1/completions"), Json("""{"prompt":"Once upon a time","n_predict":3}"""));

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal(string.Concat(SimulatedLocalModel.Tokens("Once upon a time", 3).Select(t => t.Text)), choice.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task The_sse_stream_has_llama_cpp_s_shape()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 1000 });

        using var response = await _http.PostAsync(new Uri(server.Address, "v1/chat/completions"), Json(
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":1}"""));
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        Assert.Equal(5, chunks.Length); // role, 2 tokens, finish, usage
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var token = chunks[1].GetProperty("choices")[0];
        Assert.Equal(JsonValueKind.Null, token.GetProperty("finish_reason").ValueKind);
        var entry = token.GetProperty("logprobs").GetProperty("content")[0];
        Assert.Equal(token.GetProperty("delta").GetProperty("content").GetString(), entry.GetProperty("token").GetString());
        Assert.Equal(1, entry.GetProperty("top_logprobs").GetArrayLength());
        Assert.Equal("length", chunks[3].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[4].GetProperty("choices").GetArrayLength());
        Assert.Equal(2, chunks[4].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Health_models_and_readiness_answer_as_llama_cpp_does()
    {
        await using var server = await StartAsync();
        var runtime = Runtime(server);

        Assert.True(await runtime.IsHealthyAsync(CancellationToken.None));
        string models = await _http.GetStringAsync(new Uri(server.Address, "v1/models"));
        using (var document = JsonDocument.Parse(models))
        {
            var model = document.RootElement.GetProperty("data")[0];
            Assert.Equal("local-small-sim", model.GetProperty("id").GetString());
            Assert.True(model.GetProperty("meta").GetProperty("simulation").GetBoolean());
        }

        server.Ready = false;
        Assert.False(await runtime.IsHealthyAsync(CancellationToken.None));
        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(runtime.StreamAsync(ChatRequest(Greeting, 3), CancellationToken.None)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Contains("Loading model", e.Message, StringComparison.Ordinal);

        server.Ready = true;
        Assert.True(await runtime.IsHealthyAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("v1/chat/completions", "{not json")]
    [InlineData("v1/chat/completions", """{"max_tokens":3}""")]
    [InlineData("v1/completions", """{"prompt":[1,2,3]}""")]
    [InlineData("v1/completions", """{"prompt":"x","max_tokens":"ten"}""")]
    public async Task A_malformed_request_gets_400_with_an_error_object(string path, string body)
    {
        await using var server = await StartAsync();

        using var response = await _http.PostAsync(new Uri(server.Address, path), Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(400, document.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task A_client_that_goes_away_stops_the_generation()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(50), TokensPerSecond = 10 });
        using var cancel = new CancellationTokenSource();
        int received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in Runtime(server).StreamAsync(ChatRequest(Greeting, 200), cancel.Token))
            {
                if (++received == 2)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        // The server notices the abort on its own schedule: wait until it has finished with the request.
        var deadline = Stopwatch.StartNew();
        while ((server.RequestsAborted == 0 || server.ActiveRequests != 0) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, server.RequestsAborted);
        Assert.Equal(0, server.RequestsCompleted);
        Assert.Equal(0, server.ActiveRequests);
    }

    [Fact]
    public async Task Stopping_the_server_cuts_open_streams()
    {
        var server = await StartAsync(new SimulatedLocalOptions { TimeToFirstToken = TimeSpan.Zero, TokensPerSecond = 5 });
        var runtime = Runtime(server);
        int received = 0;
        var streaming = Task.Run(async () =>
        {
            await foreach (var chunk in runtime.StreamAsync(ChatRequest(Greeting, 200), CancellationToken.None))
            {
                Interlocked.Increment(ref received);
            }
        });
        while (Volatile.Read(ref received) == 0)
        {
            await Task.Delay(10);
        }

        await server.DisposeAsync();

        await Assert.ThrowsAsync<LocalRuntimeException>(() => streaming);
        Assert.Equal(1, server.RequestsAborted);
    }

    [Fact]
    public async Task Concurrent_requests_are_served_side_by_side()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { TokensPerSecond = 20, Parallelism = 4 });
        var runtime = Runtime(server);
        var stopwatch = Stopwatch.StartNew();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            TestHttp.CollectAsync(runtime.StreamAsync(ChatRequest($"question {i}", 4), CancellationToken.None))));

        Assert.All(results, r => Assert.Equal(5, r.Count));
        Assert.InRange(stopwatch.Elapsed.TotalSeconds, 0.25, 10);
        Assert.Equal(4, server.RequestsCompleted);
    }

    [Fact]
    public async Task Props_reports_the_slots_and_the_llama_cpp_adapter_reads_them()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions { Parallelism = 3 });
        using var props = JsonDocument.Parse(await _http.GetStringAsync(new Uri(server.Address, "props")));
        Assert.Equal(3, props.RootElement.GetProperty("total_slots").GetInt32());
        var runtime = Assert.IsAssignableFrom<IReportsParallelism>(Runtime(server));
        Assert.Equal(3, await runtime.ReadParallelismAsync(CancellationToken.None));

        // No /props there (a 404): no figure, and no exception.
        var elsewhere = new LlamaCppRuntime(new Uri(server.Address, "nothing/"), "m", _http, TimeSpan.FromSeconds(5));
        Assert.Null(await elsewhere.ReadParallelismAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Requests_past_the_parallelism_wait_inside_the_runtime_for_a_free_slot()
    {
        await using var server = await StartAsync(new SimulatedLocalOptions
        {
            Parallelism = 2, TimeToFirstToken = TimeSpan.FromMilliseconds(200), TokensPerSecond = 50, ConcurrencySlowdown = 0,
        });
        var runtime = Runtime(server);
        var stopwatch = Stopwatch.StartNew();
        async Task<(TimeSpan FirstToken, TimeSpan End)> Run(int i)
        {
            TimeSpan? first = null;
            await foreach (var chunk in runtime.StreamAsync(ChatRequest($"question {i}", 3), CancellationToken.None))
            {
                first ??= stopwatch.Elapsed;
            }

            return (first!.Value, stopwatch.Elapsed);
        }

        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(Run));
        var ordered = runs.OrderBy(r => r.FirstToken).ToArray();
        // Two start at once; the third gets its first token only after one of them ended and its own prefill ran.
        Assert.True(ordered[2].FirstToken >= ordered.Take(2).Min(r => r.End), $"third first token {ordered[2].FirstToken}, ends {ordered[0].End} {ordered[1].End}");
        Assert.Equal(3, server.RequestsCompleted);
        Assert.Equal(0, server.WaitingRequests);
        Assert.Equal(0, server.ActiveRequests);
    }

    [Fact]
    public void Concurrent_generations_slow_each_other_down()
    {
        var options = new SimulatedLocalOptions { ConcurrencySlowdown = 0.4 };
        Assert.Equal(1, options.SlowdownFactor(0));
        Assert.Equal(1, options.SlowdownFactor(1));
        Assert.Equal(1.4, options.SlowdownFactor(2), 9);
        Assert.Equal(2.2, options.SlowdownFactor(4), 9);
        Assert.Throws<ArgumentException>(() => new SimulatedLocalOptions { Parallelism = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new SimulatedLocalOptions { ConcurrencySlowdown = -1 }.Validate());
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
