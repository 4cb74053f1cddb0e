using System.Net;
using DataPlane.Edge.Api;
using DataPlane.Edge.Runtimes;

namespace DataPlane.Edge.Tests.Runtimes;

/// <summary>LlamaCppRuntime against a fake llama-server writing its documented SSE format.</summary>
public sealed class LlamaCppRuntimeTests : IDisposable
{
    private const string Sse = "text/event-stream";
    private readonly HttpClient _http = TestHttp.CreateClient();

    private static LocalRequest Chat(bool logprobs = true) => new()
    {
        Model = "qwen2.5-1.5b",
        Messages = [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi there")],
        MaxTokens = 64,
        Temperature = 0.2,
        TopP = 0.9,
        Stop = ["\n\n", "User:"],
        Logprobs = logprobs,
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    private static LocalRequest Completion() => new() { Model = "", Prompt = "Once upon a time", MaxTokens = 8 };

    private LlamaCppRuntime Runtime(Uri address, TimeSpan? timeout = null) =>
        new(address, "default-model", _http, timeout ?? TimeSpan.FromSeconds(30));

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Chat_stream_yields_tokens_with_logprobs_then_finish_and_usage()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"chatcmpl-1","model":"m","object":"chat.completion.chunk"}""",
            "",
            ": keep-alive comment",
            "event: message",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hello"},"logprobs":{"content":[{"id":9906,"token":"Hello","bytes":[72,101,108,108,111],"logprob":-0.25,"top_logprobs":[{"id":9906,"token":"Hello","bytes":[72],"logprob":-0.25}]}]}}],"object":"chat.completion.chunk"}""",
            "",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":""}}],"object":"chat.completion.chunk"}""",
            "",
            """data:{"choices":[{"finish_reason":null,"index":0,"delta":{"content":" world"},"logprobs":{"content":[{"token":" wor","logprob":-0.5},{"token":"ld","logprob":-0.125}]}}]}""",
            "",
            """data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}],"object":"chat.completion.chunk"}""",
            "",
            """data: {"choices":[],"usage":{"completion_tokens":2,"prompt_tokens":7,"total_tokens":9},"timings":{"prompt_n":7,"predicted_n":2}}""",
            "",
            "data: [DONE]",
            "");
        var runtime = Runtime(server.Address);

        var chunks = await TestHttp.CollectAsync(runtime.StreamAsync(Chat(), CancellationToken.None));

        Assert.Equal(
        [
            new TokenChunk("Hello", -0.25),
            new TokenChunk(" world", -0.625),
            new TokenChunk("", null, "length", 7, 2),
        ], chunks);
        Assert.True(chunks[^1].IsFinal);
        Assert.Equal("llama.cpp", runtime.Name);
        Assert.True(runtime.ProvidesLogprobs);
    }

    [Fact]
    public async Task Chat_request_carries_messages_sampling_logprobs_usage_and_cache_prompt()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}]}""", "", "data: [DONE]");

        await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None));

        var request = server.Single();
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal(Sse, request.Accept);
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", request.TraceParent);
        var body = request.Json;
        Assert.Equal("qwen2.5-1.5b", body.GetProperty("model").GetString());
        var messages = body.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("Be brief.", messages[0].GetProperty("content").GetString());
        Assert.Equal("user", messages[1].GetProperty("role").GetString());
        Assert.Equal("Hi there", messages[1].GetProperty("content").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(64, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal(["\n\n", "User:"], body.GetProperty("stop").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.True(body.GetProperty("cache_prompt").GetBoolean());
        Assert.True(body.GetProperty("logprobs").GetBoolean());
        Assert.Equal(1, body.GetProperty("top_logprobs").GetInt32());
        Assert.False(body.TryGetProperty("prompt", out _));
    }

    [Fact]
    public async Task Request_without_logprobs_or_sampling_settings_sends_neither_and_uses_the_default_model()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"ok"}}]}""",
            """data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}]}""", "data: [DONE]");
        var request = new LocalRequest { Model = " ", Messages = [new ChatMessage("user", "x")], Logprobs = false };

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(request, CancellationToken.None));

        Assert.Equal([new TokenChunk("ok"), new TokenChunk("", null, "stop")], chunks);
        var body = server.Single().Json;
        Assert.Equal("default-model", body.GetProperty("model").GetString());
        Assert.Equal(256, body.GetProperty("max_tokens").GetInt32());
        foreach (string absent in new[] { "logprobs", "top_logprobs", "temperature", "top_p", "stop" })
        {
            Assert.False(body.TryGetProperty(absent, out _), absent);
        }
    }

    [Fact]
    public async Task Completion_goes_to_v1_completions_with_a_prompt_and_reads_text_and_logprobs()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"text":" there","index":0,"logprobs":{"content":[{"id":1,"token":" there","logprob":-1.5,"top_logprobs":[]}]},"finish_reason":null}],"object":"text_completion"}""",
            "",
            """data: {"choices":[{"text":" was","index":0,"logprobs":null,"finish_reason":null}],"object":"text_completion"}""",
            "",
            """data: {"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}],"object":"text_completion","usage":{"completion_tokens":2,"prompt_tokens":4,"total_tokens":6}}""",
            "",
            "data: [DONE]");

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Completion(), CancellationToken.None));

        Assert.Equal([new TokenChunk(" there", -1.5), new TokenChunk(" was"), new TokenChunk("", null, "stop", 4, 2)], chunks);
        var request = server.Single();
        Assert.Equal("/v1/completions", request.Path);
        var body = request.Json;
        Assert.Equal("Once upon a time", body.GetProperty("prompt").GetString());
        Assert.Equal("default-model", body.GetProperty("model").GetString());
        Assert.Equal(8, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(1, body.GetProperty("logprobs").GetInt32());
        Assert.False(body.TryGetProperty("messages", out _));
        Assert.True(body.GetProperty("cache_prompt").GetBoolean());
    }

    [Fact]
    public async Task Completion_reads_the_openai_token_logprobs_shape_and_may_end_without_done_once_finished()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"text":"A","index":0,"logprobs":{"tokens":["A"],"token_logprobs":[-0.75],"top_logprobs":[{"A":-0.75}],"text_offset":[0]},"finish_reason":null}]}""",
            """data: {"choices":[{"text":"BC","index":0,"logprobs":{"tokens":["B","C"],"token_logprobs":[-0.5,-0.25]},"finish_reason":"length"}]}""");

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Completion(), CancellationToken.None));

        Assert.Equal([new TokenChunk("A", -0.75), new TokenChunk("BC", -0.75), new TokenChunk("", null, "length")], chunks);
    }

    [Fact]
    public async Task A_base_address_with_a_path_keeps_it()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}]}""", "data: [DONE]");

        await TestHttp.CollectAsync(Runtime(new Uri(server.Address, "llama")).StreamAsync(Chat(), CancellationToken.None));

        Assert.Equal("/llama/v1/chat/completions", server.Single().Path);
    }

    [Fact]
    public async Task Health_is_ready_on_200_status_ok()
    {
        await using var server = await FakeRuntimeServer.StatusAsync(200, """{"status":"ok"}""");

        Assert.True(await Runtime(server.Address).IsHealthyAsync(CancellationToken.None));
        var request = server.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal("/health", request.Path);
    }

    [Theory]
    [InlineData(503, """{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}""")]
    [InlineData(200, """{"status":"no slot available"}""")]
    [InlineData(200, "<html>some other server</html>")]
    public async Task Health_is_not_ready_while_loading_or_when_something_else_answers(int status, string body)
    {
        await using var server = await FakeRuntimeServer.StatusAsync(status, body);

        Assert.False(await Runtime(server.Address).IsHealthyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Health_is_not_ready_when_the_runtime_is_down()
    {
        Assert.False(await Runtime(FakeRuntimeServer.UnusedAddress()).IsHealthyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Health_is_not_ready_when_the_answer_is_too_slow()
    {
        await using var server = await FakeRuntimeServer.StartAsync(async (context, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
        });
        var runtime = new LlamaCppRuntime(server.Address, "m", _http, TimeSpan.FromSeconds(30)) { HealthTimeout = TimeSpan.FromMilliseconds(200) };

        Assert.False(await runtime.IsHealthyAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(500, "Internal Server Error")]
    [InlineData(503, "Service Unavailable")]
    public async Task Error_status_throws_naming_the_runtime_url_status_and_body(int status, string reason)
    {
        await using var server = await FakeRuntimeServer.StatusAsync(status, "{\"error\": {\n  \"code\": 500,\r\n  \"message\": \"the model exploded\"}}");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Equal((HttpStatusCode)status, e.StatusCode);
        Assert.Contains("llama.cpp", e.Message, StringComparison.Ordinal);
        Assert.Contains(server.Address + "v1/chat/completions", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{status} {reason}", e.Message, StringComparison.Ordinal);
        Assert.Contains("""{"error": { "code": 500, "message": "the model exploded"}}""", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_long_error_body_is_truncated_in_the_message()
    {
        await using var server = await FakeRuntimeServer.StatusAsync(500, new string('x', 100_000), "text/plain");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains(new string('x', HttpLocalRuntime.MaxErrorBodyChars) + "…", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Length < HttpLocalRuntime.MaxErrorBodyChars + 300);
    }

    [Theory]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":", "JSON")]
    [InlineData("data: [1,2,3]", "not a JSON object")]
    [InlineData("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":12}}]}", "choices[0].delta.content")]
    [InlineData("data: {\"choices\":{\"index\":0}}", "choices is not an array")]
    [InlineData("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"logprobs\":{\"content\":[{\"token\":\"a\",\"logprob\":\"high\"}]}}]}", "logprob")]
    [InlineData("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"logprobs\":{\"content\":[{\"token\":\"a\"}]}}]}", "has no logprob")]
    [InlineData("data: {\"usage\":{\"prompt_tokens\":-3}}", "usage.prompt_tokens")]
    [InlineData("data: {\"choices\":[]} trailing", "")]
    public async Task A_malformed_line_throws_saying_what_was_wrong(string line, string what)
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"fine"}}]}""", "", line, "", "data: [DONE]");
        var received = new List<TokenChunk>();

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(async () =>
        {
            await foreach (var chunk in Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None))
            {
                received.Add(chunk);
            }
        });

        Assert.Equal([new TokenChunk("fine")], received);
        Assert.Contains("malformed", e.Message, StringComparison.Ordinal);
        Assert.Contains("llama.cpp", e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
        Assert.Null(e.StatusCode);
    }

    [Fact]
    public async Task An_error_event_inside_the_stream_throws_with_its_message()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"}}]}""",
            """data: {"error":{"code":500,"message":"context size exceeded","type":"server_error"}}""");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains("context size exceeded", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_before_finishing_throws()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Sse,
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"}}]}""");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains("ended before", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_refused_throws_with_the_inner_exception()
    {
        var address = FakeRuntimeServer.UnusedAddress();

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.IsType<HttpRequestException>(e.InnerException);
        Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
        Assert.Contains(address.ToString(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_past_its_timeout_throws_naming_the_timeout()
    {
        await using var server = await FakeRuntimeServer.StartAsync((context, self) => self.HoldOpenAsync(context, Sse, ": ping",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"a"}}]}"""));
        var runtime = Runtime(server.Address, TimeSpan.FromMilliseconds(500));

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(runtime.StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains("timeout", e.Message, StringComparison.Ordinal);
        await TestHttp.Within(server.Aborted.Task, 10, "the runtime seeing the timed-out request go away");
    }

    [Fact]
    public async Task Cancellation_stops_the_stream_and_the_runtime_sees_the_abort()
    {
        await using var server = await FakeRuntimeServer.StartAsync((context, self) => self.HoldOpenAsync(context, Sse, ": ping",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"one"}}]}""",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"two"}}]}"""));
        using var cancel = new CancellationTokenSource();
        var received = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in Runtime(server.Address).StreamAsync(Chat(), cancel.Token))
            {
                received.Add(chunk.Text);
                if (received.Count == 2)
                {
                    cancel.CancelAfter(100);
                }
            }
        });

        Assert.Equal(["one", "two"], received);
        await TestHttp.Within(server.Aborted.Task, 10, "the runtime seeing the cancelled request go away");
    }

    [Fact]
    public async Task Leaving_the_stream_early_closes_the_connection_at_once()
    {
        await using var server = await FakeRuntimeServer.StartAsync((context, self) => self.HoldOpenAsync(context, Sse, ": ping",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"one"}}]}""",
            """data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"two"}}]}"""));

        await foreach (var chunk in Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None))
        {
            Assert.Equal("one", chunk.Text);
            break;
        }

        // The client's drain is set to 30 s: only an explicit close gets the runtime to notice sooner.
        await TestHttp.Within(server.Aborted.Task, 10, "the runtime seeing the abandoned request go away");
    }

    [Fact]
    public async Task A_request_with_neither_messages_nor_prompt_is_refused()
    {
        var runtime = Runtime(FakeRuntimeServer.UnusedAddress());

        Assert.Throws<ArgumentException>(() => runtime.StreamAsync(new LocalRequest { Model = "m" }, CancellationToken.None));
    }

    [Fact]
    public void The_constructor_refuses_relative_or_non_http_addresses()
    {
        Assert.Throws<ArgumentException>(() => new LlamaCppRuntime(new Uri("/x", UriKind.Relative), "m", _http, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new LlamaCppRuntime(new Uri("ftp://host/"), "m", _http, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LlamaCppRuntime(new Uri("http://host/"), "m", _http, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LlamaCppRuntime(new Uri("http://host/"), "m", _http, TimeSpan.FromDays(30)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LlamaCppRuntime(new Uri("http://host/"), "m", _http, Timeout.InfiniteTimeSpan) { HealthTimeout = TimeSpan.FromSeconds(-2) });
    }
}
