using System.Text;
using DataPlane.Edge.Api;

namespace DataPlane.Edge.Tests.Api;

/// <summary>The OpenAI request parser on its own: every invalid field is a 400 naming that field (wrong type, out of
/// range, missing), bad bytes and bad text are named as such, client text echoed in an error is cut, unknown fields
/// are ignored as OpenAI-compatible servers do, and valid requests come out with every field they carried.</summary>
public sealed class RequestParserTests
{
    private static readonly RequestParser.Headers s_none = new(null, null, null, null);

    private static ApiError? Chat(string json, RequestParser.Headers? headers = null) =>
        RequestParser.TryParseChat(Encoding.UTF8.GetBytes(json), headers ?? s_none, out _);

    private static ApiError? Completion(string json) =>
        RequestParser.TryParseCompletion(Encoding.UTF8.GetBytes(json), s_none, out _);

    private static void AssertInvalid(ApiError? error, string? param, string fragment)
    {
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Contains(fragment, error.Message);
    }

    private const string Messages = """ "messages": [{"role": "user", "content": "hi"}] """;

    [Theory]
    // Missing
    [InlineData("""{"messages": [{"role": "user", "content": "hi"}]}""", "model", "you must provide a model parameter")]
    [InlineData("""{"model": "m"}""", "messages", "'messages' must be a non-empty array")]
    [InlineData("""{"model": "m", "messages": []}""", "messages", "'messages' must be a non-empty array")]
    [InlineData("""{"model": "m", "messages": [null]}""", "messages[0]", "messages[0] must be an object")]
    [InlineData("""{"model": "m", "messages": [{"content": "hi"}]}""", "messages[0].role", "got nothing")]
    // Wrong type
    [InlineData("""{"model": 7, "messages": []}""", "model", "field 'model' has the wrong type")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "8"}""", "max_tokens", "field 'max_tokens' has the wrong type")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": true}""", "temperature", "wrong type")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}""", "stream", "wrong type")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": 5}]}""", "messages[0].content", "must be a string or an array of text parts")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}""", "messages[0].content", "array of text parts")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": 3}""", "stop", "stop must be a string or an array of up to 4 strings")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["a", 1]}""", "stop", "up to 4 strings")]
    // Out of range or not one of the values
    [InlineData("""{"model": "m", "messages": [{"role": "robot", "content": "hi"}]}""", "messages[0].role", "must be one of system, user, assistant, tool, developer; got 'robot'")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}""", "max_tokens", "max_tokens must be between 1 and 32768; got 0")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 40000}""", "max_completion_tokens", "between 1 and 32768; got 40000")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}""", "temperature", "temperature must be between 0 and 2; got 2.5")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_p": 0}""", "top_p", "top_p must be greater than 0 and at most 1; got 0")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2}""", "n", "n must be 1")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}""", "stop", "up to 4 strings")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "dataplane": {"mode": "cloud"}}""", "dataplane.mode", "mode must be one of auto, local, gpu, speculative; got 'cloud'")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "dataplane": {"slo_ms": 0}}""", "dataplane.slo_ms", "between 0 and 600000")]
    [InlineData("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "dataplane": {"slo_ms": 700000}}""", "dataplane.slo_ms", "between 0 and 600000")]
    public void A_chat_field_that_is_missing_mistyped_or_out_of_range_is_named(string json, string param, string fragment) =>
        AssertInvalid(Chat(json), param, fragment);

    [Theory]
    [InlineData("""{"prompt": "hi"}""", "model", "you must provide a model parameter")]
    [InlineData("""{"model": "m"}""", "prompt", "'prompt' must be a string")]
    [InlineData("""{"model": "m", "prompt": 3}""", "prompt", "'prompt' must be a string")]
    [InlineData("""{"model": "m", "prompt": ["a", "b"]}""", "prompt", "several prompts is not supported")]
    [InlineData("""{"model": "m", "prompt": "hi", "echo": true}""", "echo", "'echo' is not supported")]
    [InlineData("""{"model": "m", "prompt": "hi", "max_tokens": -1}""", "max_tokens", "between 1 and 32768; got -1")]
    public void A_completion_field_that_is_missing_mistyped_or_out_of_range_is_named(string json, string param, string fragment) =>
        AssertInvalid(Completion(json), param, fragment);

    [Fact]
    public void Headers_win_over_the_body_and_are_named_when_invalid()
    {
        string json = "{\"model\": \"m\", " + Messages + ", \"dataplane\": {\"mode\": \"local\"}}";
        AssertInvalid(Chat(json, new("sideways", null, null, null)), "X-DataPlane-Mode", "got 'sideways'");
        AssertInvalid(Chat(json, new(null, "maybe", null, null)), "X-DataPlane-Replace", "must be true or false; got 'maybe'");
        AssertInvalid(Chat(json, new(null, null, "soon", null)), "X-DataPlane-SLO-Ms", "between 0 and 600000");

        Assert.Null(RequestParser.TryParseChat(Encoding.UTF8.GetBytes(json), new("gpu", "true", "250", null), out var request));
        Assert.Equal(RequestedMode.Gpu, request.Mode);
        Assert.True(request.Replace);
        Assert.Equal(TimeSpan.FromMilliseconds(250), request.Slo);
    }

    [Theory]
    [InlineData("", "request body is empty")]
    [InlineData("{\"model\": \"m\", ", "request body is not valid JSON")]
    [InlineData("[1, 2]", "request body is not valid JSON")]
    [InlineData("null", "request body must be a JSON object")]
    public void A_body_that_is_not_a_json_object_is_a_body_error_without_a_field(string json, string fragment) =>
        AssertInvalid(Chat(json), null, fragment);

    [Fact]
    public void Invalid_utf8_is_refused_with_the_offset_of_the_first_bad_byte()
    {
        byte[] body = [.. "{\"model\": \""u8, 0xC3, 0x28, .. "\"}"u8];
        var error = RequestParser.TryParseChat(body, s_none, out _);
        AssertInvalid(error, null, "request body is not valid UTF-8 (invalid byte sequence at byte 11)");
    }

    [Fact]
    public void An_unpaired_surrogate_escape_names_the_field_that_holds_it()
    {
        AssertInvalid(Chat("""{"model": "m", "messages": [{"role": "user", "content": "a\ud800b"}]}"""),
            "messages[0].content", "is not valid text: it holds an unpaired UTF-16 surrogate escape");
        AssertInvalid(Completion("""{"model": "m", "prompt": "\udfff"}"""), "prompt", "is not valid text");
        AssertInvalid(Chat("""{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": ["\ud800"]}"""), "stop", "is not valid text");
    }

    [Fact]
    public void Client_text_echoed_in_an_error_is_cut_to_its_limit()
    {
        string role = new('r', 100_000);
        var error = Chat("{\"model\": \"m\", \"messages\": [{\"role\": \"" + role + "\", \"content\": \"hi\"}]}");
        Assert.NotNull(error);
        Assert.Equal("messages[0].role", error.Param);
        Assert.Contains("got '" + new string('r', ApiError.MaxEcho) + "…'", error.Message);
        Assert.True(error.Message.Length < ApiError.MaxEcho + 200, "a huge field never comes back whole");
    }

    [Fact]
    public void A_valid_chat_request_keeps_every_field_it_carried_and_ignores_unknown_ones()
    {
        const string json = """
            {"model": "llama", "unknown_field": {"nested": [1, 2]}, "user": "someone",
             "messages": [{"role": "system", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "there"}]}],
             "stream": true, "stream_options": {"include_usage": true}, "max_completion_tokens": 64, "max_tokens": 8,
             "temperature": 0.5, "top_p": 0.9, "n": 1, "stop": ["\n", "END"],
             "dataplane": {"mode": "speculative", "replace": true, "slo_ms": 1500}}
            """;
        const string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Assert.Null(RequestParser.TryParseChat(Encoding.UTF8.GetBytes(json), new(null, null, null, trace), out var r));
        Assert.Equal(EdgeEndpoint.Chat, r.Endpoint);
        Assert.Equal("llama", r.Model);
        Assert.Equal([new ChatMessage("system", "be brief"), new ChatMessage("user", "hello there")], r.Messages);
        Assert.True(r.Stream);
        Assert.True(r.IncludeUsage);
        Assert.Equal(64, r.MaxTokens); // max_completion_tokens wins over the older max_tokens
        Assert.Equal(0.5, r.Temperature);
        Assert.Equal(0.9, r.TopP);
        Assert.Equal(["\n", "END"], r.Stop);
        Assert.Equal(RequestedMode.Speculative, r.Mode);
        Assert.True(r.Replace);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), r.Slo);
        Assert.Equal(trace, r.TraceParent);
        Assert.True(r.ClientTraceParent);
    }

    [Fact]
    public void A_valid_completion_request_defaults_what_it_did_not_carry()
    {
        Assert.Null(RequestParser.TryParseCompletion("""{"model": "m", "prompt": ["only one"], "stop": "x"}"""u8, s_none, out var r));
        Assert.Equal(EdgeEndpoint.Completion, r.Endpoint);
        Assert.Equal("only one", r.Prompt);
        Assert.Equal(["x"], r.Stop);
        Assert.Null(r.MaxTokens);
        Assert.Null(r.Slo);
        Assert.False(r.Stream);
        Assert.Equal(RequestedMode.Auto, r.Mode);
        Assert.False(r.ClientTraceParent);
        Assert.NotNull(r.TraceParent); // a fresh trace when the client sent none
    }
}
