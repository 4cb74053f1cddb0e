using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace DataPlane.Agent.Tests;

/// <summary>Bodies that are not text (invalid UTF-8 bytes, an escaped unpaired surrogate) get 400 in OpenAI's error
/// shape naming the problem, never an empty 500; long client strings come back cut.</summary>
public class BadEncodingTests(AgentFixture fixture) : IClassFixture<AgentFixture>
{
    public static TheoryData<string, string, byte[], string?, string> Cases() => new()
    {
        { "0xFF in a string", "/v1/chat/completions", Bytes("{\"model\":\"local-small\",\"messages\":[{\"role\":\"user\",\"content\":\"", [0xFF], "\"}]}"),
            null, "request body is not valid UTF-8 (invalid byte sequence at byte 61)" },
        { "0xFF alone", "/v1/chat/completions", [0xFF], null, "request body is not valid UTF-8 (invalid byte sequence at byte 0)" },
        { "truncated sequence", "/v1/completions", Bytes("{\"model\":\"local-small\",\"prompt\":\"", [0xE2, 0x82], "\"}"),
            null, "request body is not valid UTF-8" },
        { "overlong encoding", "/v1/completions", Bytes("{\"model\":\"local-small\",\"prompt\":\"", [0xC0, 0xAF], "\"}"),
            null, "request body is not valid UTF-8" },
        { "lone surrogate in content", "/v1/chat/completions",
            Bytes("""{"model":"local-small","messages":[{"role":"user","content":"a\ud800b"}]}"""),
            "messages[0].content", "field 'messages[0].content' is not valid text: it holds an unpaired UTF-16 surrogate escape" },
        { "lone surrogate in a text part", "/v1/chat/completions",
            Bytes("""{"model":"local-small","messages":[{"role":"user","content":[{"type":"text","text":"\udc00"}]}]}"""),
            "messages[0].content", "field 'messages[0].content' is not valid text" },
        { "lone surrogate in the model", "/v1/chat/completions",
            Bytes("""{"model":"\ud800","messages":[{"role":"user","content":"hi"}]}"""), "model", "field 'model' is not valid text" },
        { "lone surrogate in the role", "/v1/chat/completions",
            Bytes("""{"model":"local-small","messages":[{"role":"\ud800","content":"hi"}]}"""), "messages[0].role", "field 'messages[0].role' is not valid text" },
        { "lone surrogate in the prompt", "/v1/completions", Bytes("""{"model":"local-small","prompt":"\ud800"}"""), "prompt", "field 'prompt' is not valid text" },
        { "lone surrogate in stop", "/v1/completions", Bytes("""{"model":"local-small","prompt":"hi","stop":["\udfff"]}"""), "stop", "field 'stop' is not valid text" },
    };

    private static byte[] Bytes(string before, byte[]? middle = null, string after = "") =>
        [.. Encoding.UTF8.GetBytes(before), .. middle ?? [], .. Encoding.UTF8.GetBytes(after)];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Is_answered_400_naming_the_problem(string what, string path, byte[] body, string? param, string message)
    {
        var h = fixture.Harness;
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await h.Api.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, $"{what}: expected 400, got {(int)response.StatusCode}: '{text}'");
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (param != null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        var ok = await Answer.ReadAsync(await h.PostAsync("/v1/chat/completions", HybridHarness.Chat("hello")));
        Assert.Equal(200, ok.Status);
    }

    [Theory]
    [InlineData("""{"model":"{long}","messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"local-small","messages":[{"role":"{long}","content":"hi"}]}""", "messages[0].role")]
    public async Task A_long_client_string_comes_back_cut(string template, string param)
    {
        string body = template.Replace("{long}", new string('m', 3000), StringComparison.Ordinal);
        using var response = await fixture.Harness.Api.PostAsync("/v1/chat/completions", HybridHarness.Json(body));
        string text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains(new string('m', 256) + "…", message);
        Assert.DoesNotContain(new string('m', 257), message);
    }
}
