using DataPlane.Edge.Api;
using DataPlane.Edge.Runtimes;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Edge.Tests.Runtimes;

/// <summary>HailoOllamaRuntime against a fake hailo-ollama: the Ollama subset, no probabilities.</summary>
public sealed class HailoOllamaRuntimeTests : IDisposable
{
    private readonly HttpClient _http = TestHttp.CreateClient();

    private HailoOllamaRuntime Runtime(Uri address) => new(address, "qwen2.5-instruct:1.5b", _http, TimeSpan.FromSeconds(30));

    public void Dispose() => _http.Dispose();

    [Fact]
    public void It_is_named_hailo_ollama_has_no_logprobs_and_defaults_to_port_8000()
    {
        var runtime = Runtime(HailoOllamaRuntime.DefaultAddress);

        Assert.Equal("hailo-ollama", runtime.Name);
        Assert.False(runtime.ProvidesLogprobs);
        Assert.Equal(8000, HailoOllamaRuntime.DefaultAddress.Port);
    }

    [Fact]
    public async Task It_never_asks_for_logprobs_and_streams_tokens_without_them()
    {
        await using var server = await FakeRuntimeServer.LinesAsync("application/x-ndjson",
            """{"model":"qwen2.5-instruct:1.5b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}""",
            """{"model":"qwen2.5-instruct:1.5b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"!"},"done":false}""",
            """{"model":"qwen2.5-instruct:1.5b","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":2}""");
        var request = new LocalRequest { Model = "", Messages = [new ChatMessage("user", "Hello")], MaxTokens = 16, Logprobs = true };

        var chunks = await TestHttp.CollectAsync(Runtime(server.Address).StreamAsync(request, CancellationToken.None));

        Assert.Equal([new TokenChunk("Hi"), new TokenChunk("!"), new TokenChunk("", null, "stop", 9, 2)], chunks);
        Assert.All(chunks, c => Assert.Null(c.Logprob));
        var captured = server.Single();
        Assert.Equal("/api/chat", captured.Path);
        var body = captured.Json;
        Assert.Equal("qwen2.5-instruct:1.5b", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.Equal(16, body.GetProperty("options").GetProperty("num_predict").GetInt32());
        Assert.False(body.TryGetProperty("logprobs", out _));
        Assert.False(body.TryGetProperty("top_logprobs", out _));
    }

    [Fact]
    public async Task Health_asks_api_version()
    {
        await using var server = await FakeRuntimeServer.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = context.Request.Path == "/api/version" ? 200 : 404;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"version":"0.5.1"}""");
        });

        Assert.True(await Runtime(server.Address).IsHealthyAsync(CancellationToken.None));
        var request = server.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal("/api/version", request.Path);
    }

    [Fact]
    public async Task Health_is_not_ready_when_down()
    {
        Assert.False(await Runtime(FakeRuntimeServer.UnusedAddress()).IsHealthyAsync(CancellationToken.None));
    }
}
