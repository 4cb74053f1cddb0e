using System.Net;
using DataPlane.Edge.Api;
using DataPlane.Edge.Runtimes;

namespace DataPlane.Edge.Tests.Runtimes;

/// <summary>OllamaRuntime against a fake Ollama writing its documented NDJSON format.</summary>
public sealed class OllamaRuntimeTests : IDisposable
{
    private const string Ndjson = "application/x-ndjson";
    private readonly HttpClient _http = TestHttp.CreateClient();

    private static LocalRequest Chat() => new()
    {
        Model = "llama3.2:1b",
        Messages = [new ChatMessage("user", "Why is the sky blue?")],
        MaxTokens = 32,
        Temperature = 0.7,
        TopP = 0.95,
        Stop = ["</s>"],
    };

    private OllamaRuntime Runtime(Uri address) => new(address, "default:latest", _http, TimeSpan.FromSeconds(30));

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Chat_stream_yields_tokens_with_summed_logprobs_then_done_reason_and_counts()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson,
            """{"model":"llama3.2:1b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Ray"},"done":false,"logprobs":[{"token":"Ray","logprob":-0.5,"bytes":[82,97,121],"top_logprobs":[]}]}""",
            """{"model":"llama3.2:1b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"leigh scattering"},"done":false,"logprobs":[{"token":"leigh","logprob":-0.25},{"token":" scattering","logprob":-0.125}]}""",
            "",
            """{"model":"llama3.2:1b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"."},"done":false}""",
            """{"model":"llama3.2:1b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","total_duration":5000000000,"load_duration":1000,"prompt_eval_count":26,"prompt_eval_duration":100,"eval_count":4,"eval_duration":200}""");
        var runtime = Runtime(server.Address);

        var chunks = await TestHttp.CollectAsync(runtime.StreamAsync(Chat(), CancellationToken.None));

        Assert.Equal(
        [
            new TokenChunk("Ray", -0.5),
            new TokenChunk("leigh scattering", -0.375),
            new TokenChunk("."),
            new TokenChunk("", null, "length", 26, 4),
        ], chunks);
        Assert.Equal("ollama", runtime.Name);
        Assert.True(runtime.ProvidesLogprobs);
    }

    [Fact]
    public async Task Chat_request_carries_options_stream_and_logprobs()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson, """{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}""");

        await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat() with { TraceParent = "00-11111111111111111111111111111111-2222222222222222-01" }, CancellationToken.None));

        var request = server.Single();
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/chat", request.Path);
        Assert.Equal(Ndjson, request.Accept);
        Assert.Equal("00-11111111111111111111111111111111-2222222222222222-01", request.TraceParent);
        var body = request.Json;
        Assert.Equal("llama3.2:1b", body.GetProperty("model").GetString());
        Assert.Equal("user", body.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("Why is the sky blue?", body.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        var options = body.GetProperty("options");
        Assert.Equal(32, options.GetProperty("num_predict").GetInt32());
        Assert.Equal(0.7, options.GetProperty("temperature").GetDouble());
        Assert.Equal(0.95, options.GetProperty("top_p").GetDouble());
        Assert.Equal(["</s>"], options.GetProperty("stop").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.True(body.GetProperty("logprobs").GetBoolean());
        Assert.Equal(0, body.GetProperty("top_logprobs").GetInt32());
        Assert.False(body.TryGetProperty("max_tokens", out _));
    }

    [Fact]
    public async Task Generate_sends_the_prompt_reads_response_and_defaults_the_finish_reason_to_stop()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson,
            """{"model":"m","response":"Hello","done":false,"logprobs":[{"token":"Hello","logprob":-0.1}]}""",
            """{"model":"m","response":"","done":true,"prompt_eval_count":3,"eval_count":1}""");
        var request = new LocalRequest { Model = "", Prompt = "Say hello", MaxTokens = 5, Logprobs = false };

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(request, CancellationToken.None));

        Assert.Equal([new TokenChunk("Hello", -0.1), new TokenChunk("", null, "stop", 3, 1)], chunks);
        var captured = server.Single();
        Assert.Equal("/api/generate", captured.Path);
        var body = captured.Json;
        Assert.Equal("default:latest", body.GetProperty("model").GetString());
        Assert.Equal("Say hello", body.GetProperty("prompt").GetString());
        Assert.Equal(5, body.GetProperty("options").GetProperty("num_predict").GetInt32());
        Assert.False(body.GetProperty("options").TryGetProperty("temperature", out _));
        Assert.False(body.TryGetProperty("logprobs", out _));
        Assert.False(body.TryGetProperty("top_logprobs", out _));
        Assert.False(body.TryGetProperty("messages", out _));
    }

    [Fact]
    public async Task Lines_after_done_are_not_read()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson,
            """{"response":"a","done":false}""", """{"response":"","done":true,"done_reason":"stop"}""", "this is not JSON");

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(new LocalRequest { Model = "m", Prompt = "p" }, CancellationToken.None));

        Assert.Equal([new TokenChunk("a"), new TokenChunk("", null, "stop")], chunks);
    }

    [Fact]
    public async Task Health_is_ready_when_the_root_answers_200()
    {
        await using var server = await FakeRuntimeServer.StatusAsync(200, "Ollama is running", "text/plain");

        Assert.True(await Runtime(server.Address).IsHealthyAsync(CancellationToken.None));
        Assert.Equal("/", server.Single().Path);
    }

    [Fact]
    public async Task Health_is_not_ready_on_an_error_status_or_when_down()
    {
        await using var server = await FakeRuntimeServer.StatusAsync(500, "oops", "text/plain");

        Assert.False(await Runtime(server.Address).IsHealthyAsync(CancellationToken.None));
        Assert.False(await Runtime(FakeRuntimeServer.UnusedAddress()).IsHealthyAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(404, """{"error":"model 'llama3.2:1b' not found"}""", "not found")]
    [InlineData(500, """{"error":"llama runner process has terminated"}""", "terminated")]
    [InlineData(503, """{"error":"server busy, please try again.  maximum pending requests exceeded"}""", "server busy")]
    public async Task Error_status_throws_naming_the_status_and_body(int status, string body, string expected)
    {
        await using var server = await FakeRuntimeServer.StatusAsync(status, body);

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Equal((HttpStatusCode)status, e.StatusCode);
        Assert.Contains("ollama at", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{status} ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"message\":{\"content\":\"a\"},\"done\":fals", "invalid JSON")]
    [InlineData("\"just a string\"", "not a JSON object")]
    [InlineData("{\"message\":\"a\",\"done\":false}", "message is not an object")]
    [InlineData("{\"response\":\"a\",\"done\":\"no\"}", "done is not a boolean")]
    [InlineData("{\"response\":\"a\",\"done\":false,\"logprobs\":{\"token\":\"a\"}}", "logprobs is not an array")]
    [InlineData("{\"response\":\"a\",\"done\":false,\"logprobs\":[{\"token\":\"a\",\"logprob\":0.5}]}", "logprob")]
    [InlineData("{\"response\":\"\",\"done\":true,\"eval_count\":\"many\"}", "eval_count")]
    public async Task A_malformed_line_throws_saying_what_was_wrong(string line, string what)
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson, """{"response":"ok","done":false}""", line);

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(new LocalRequest { Model = "m", Prompt = "p" }, CancellationToken.None)));

        Assert.Contains("malformed", e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_line_inside_the_stream_throws_with_its_message()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson,
            """{"message":{"role":"assistant","content":"a"},"done":false}""", """{"error":"an error was encountered while running the model: unexpected EOF"}""");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains("unexpected EOF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_without_done_throws()
    {
        await using var server = await FakeRuntimeServer.LinesAsync(Ndjson, """{"message":{"role":"assistant","content":"a"},"done":false}""");

        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(Chat(), CancellationToken.None)));

        Assert.Contains("ended before", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_refused_throws_with_the_inner_exception()
    {
        var e = await Assert.ThrowsAsync<LocalRuntimeException>(() => TestHttp.CollectAsync(Runtime(FakeRuntimeServer.UnusedAddress()).StreamAsync(Chat(), CancellationToken.None)));

        Assert.IsType<HttpRequestException>(e.InnerException);
        Assert.Contains("ollama", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_stops_the_stream_and_the_runtime_sees_the_abort()
    {
        await using var server = await FakeRuntimeServer.StartAsync((context, self) => self.HoldOpenAsync(context, Ndjson, "",
            """{"message":{"role":"assistant","content":"one"},"done":false}"""));
        using var cancel = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in Runtime(server.Address).StreamAsync(Chat(), cancel.Token))
            {
                Assert.Equal("one", chunk.Text);
                await cancel.CancelAsync();
            }
        });

        await TestHttp.Within(server.Aborted.Task, 10, "the runtime seeing the cancelled request go away");
    }
}
