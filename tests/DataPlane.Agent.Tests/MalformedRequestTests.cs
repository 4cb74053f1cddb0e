using System.Text.Json;

namespace DataPlane.Agent.Tests;

public sealed class AgentFixture : IAsyncLifetime
{
    public HybridHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await HybridHarness.StartAsync(localTtftMs: 10, localTokensPerSecond: 500,
        agentSettings: new Dictionary<string, string?> { ["Serving:MaxRequestBytes"] = "4096" });

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>Bad client requests get OpenAI-shaped errors with the right status and a message naming the field.</summary>
public class MalformedRequestTests(AgentFixture fixture) : IClassFixture<AgentFixture>
{
    public static TheoryData<string, string, string?, int, string?, string> Cases() => new()
    {
        { "invalid JSON", "{\"model\": ", null, 400, null, "request body is not valid JSON" },
        { "not an object", "[1,2]", null, 400, null, "request body is not valid JSON" },
        { "empty body", "", null, 400, null, "request body is empty" },
        { "no model", """{"messages":[{"role":"user","content":"hi"}]}""", null, 400, "model", "you must provide a model parameter" },
        { "unknown model", """{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", null, 404, "model", "The model 'gpt-9' does not exist" },
        { "no messages", """{"model":"local-small"}""", null, 400, "messages", "'messages' must be a non-empty array" },
        { "messages of the wrong type", """{"model":"local-small","messages":"hi"}""", null, 400, "messages", "field 'messages' has the wrong type" },
        { "bad role", """{"model":"local-small","messages":[{"role":"robot","content":"hi"}]}""", null, 400, "messages[0].role", "messages[0].role must be one of" },
        { "content number", """{"model":"local-small","messages":[{"role":"user","content":5}]}""", null, 400, "messages[0].content", "must be a string or an array of text parts" },
        { "max_tokens zero", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", null, 400, "max_tokens", "max_tokens must be between 1 and" },
        { "max_tokens text", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}""", null, 400, "max_tokens", "field 'max_tokens' has the wrong type" },
        { "temperature", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"temperature":3}""", null, 400, "temperature", "temperature must be between 0 and 2" },
        { "n", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"n":2}""", null, 400, "n", "n must be 1" },
        { "stop", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"stop":5}""", null, 400, "stop", "stop must be a string or an array" },
        { "stream of the wrong type", """{"model":"local-small","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", null, 400, "stream", "field 'stream' has the wrong type" },
        { "mode header", """{"model":"local-small","messages":[{"role":"user","content":"hi"}]}""", "X-DataPlane-Mode:fastest", 400, "X-DataPlane-Mode", "mode must be one of" },
        { "slo header", """{"model":"local-small","messages":[{"role":"user","content":"hi"}]}""", "X-DataPlane-SLO-Ms:-5", 400, "X-DataPlane-SLO-Ms", "X-DataPlane-SLO-Ms must be a number" },
        { "body too large", "{\"model\":\"local-small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 5000) + "\"}]}", null, 413, null, "larger than the limit of 4096 bytes" },
        { "wrong content type", "model=local-small", "Content-Type:application/x-www-form-urlencoded", 415, "Content-Type", "Content-Type must be application/json" },
        { "prompt array", """{"model":"local-small","prompt":["a","b"]}""", "endpoint:/v1/completions", 400, "prompt", "several prompts is not supported" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Is_refused_with_an_openai_error_naming_the_field(string what, string body, string? header, int status, string? param, string message)
    {
        var h = fixture.Harness;
        string path = "/v1/chat/completions";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = HybridHarness.Json(body) };
        if (header != null)
        {
            string name = header[..header.IndexOf(':')], value = header[(header.IndexOf(':') + 1)..];
            if (name == "endpoint")
            {
                request.RequestUri = new Uri(value, UriKind.Relative);
            }
            else if (name == "Content-Type")
            {
                request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await h.Api.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{what}: expected {status}, got {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());
        if (param != null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        // The agent keeps serving.
        var ok = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat("hello")));
        Assert.Equal(200, ok.Status);
    }

    [Fact]
    public async Task Models_and_health_are_listed()
    {
        var h = fixture.Harness;
        string models = await h.Api.GetStringAsync("/v1/models");
        Assert.Contains("\"id\":\"local-small\"", models);
        Assert.Contains("\"id\":\"big-70b\"", models);
        Assert.Equal("ok\n", await h.Api.GetStringAsync("/healthz"));
        Assert.Equal("ready\n", await h.Api.GetStringAsync("/readyz"));
        using var metricsOnApi = await h.Api.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, metricsOnApi.StatusCode);
    }
}
