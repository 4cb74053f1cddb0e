using System.Text;
using DataPlane.Edge.Api;
using DataPlane.Bench.Agent;
using DataPlane.Edge.Contract;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Bench.Tests.Agent;

public sealed class ChatAnswerReaderTests
{
    private const string Head = "\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"";

    private static string Chunk(string delta, string finish = "null", string extra = "") =>
        $"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]{extra}}}\n\n";

    private static string Token(string text) => Chunk($"{{\"content\":\"{text}\"}}");

    private const string Role = "data: {" + Head + ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

    private const string Done = "data: [DONE]\n\n";

    private static string Final(string path, string answeredBy, bool replaced = false) =>
        Chunk("{}", "\"stop\"",
            $",\"dataplane\":{{\"path\":\"{path}\",\"reason\":\"classifier\",\"answered_by\":\"{answeredBy}\",\"replaced\":{(replaced ? "true" : "false")},\"score\":0.25,\"ttft_ms\":301.5}}");

    /// <summary>Counts clock reads, so the first content's timestamp tells which read recorded it.</summary>
    private sealed class CountingClock
    {
        public long Reads { get; private set; }

        public long Now() => ++Reads * 1000;
    }

    private static Task<ChatAnswer> ReadAsync(string stream, CountingClock? clock = null) =>
        ChatAnswerReader.ReadStreamAsync(new MemoryStream(Encoding.UTF8.GetBytes(stream)), (clock ?? new CountingClock()).Now, CancellationToken.None);

    [Fact]
    public async Task An_agent_stream_gives_tokens_the_first_content_time_and_the_final_dataplane_object()
    {
        var clock = new CountingClock();
        var answer = await ReadAsync(Role + Token(" Hello") + Token(" world") + Final("local", "local") + Done, clock);

        Assert.True(answer.Succeeded);
        Assert.True(answer.Done);
        Assert.Equal(" Hello world", answer.Text);
        Assert.Equal(2, answer.ContentChunks);
        // Lines: role data, blank, token data, blank: the token's event ends at the fourth read.
        Assert.Equal(4000, answer.FirstContentNs);
        Assert.Equal("stop", answer.FinishReason);
        Assert.Equal(new DataplaneSummary("local", "classifier", "local", false, 0.25, 301.5), answer.Dataplane);
        Assert.Null(answer.Error);
        Assert.Equal(0, answer.ReplaceEvents);
    }

    [Fact]
    public async Task A_stream_without_the_dataplane_object_still_succeeds_as_a_plain_runtime_s_does()
    {
        // llama.cpp: a role chunk with null content, tokens, a final chunk with finish_reason and timings.
        string stream =
            "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}],\"created\":1,\"id\":\"x\",\"model\":\"local-small-sim\",\"object\":\"chat.completion.chunk\"}\n\n" +
            "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\" the\"}}],\"object\":\"chat.completion.chunk\"}\n\n" +
            "data: {\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"delta\":{}}],\"object\":\"chat.completion.chunk\",\"timings\":{\"predicted_n\":1}}\n\n" +
            Done;

        var answer = await ReadAsync(stream);

        Assert.True(answer.Succeeded);
        Assert.Null(answer.Dataplane);
        Assert.Equal(" the", answer.Text);
        Assert.Equal("length", answer.FinishReason);
        Assert.NotNull(answer.FirstContentNs);
    }

    [Fact]
    public async Task A_replace_event_restarts_the_text_and_keeps_the_first_content_time()
    {
        string replace = "event: replace\n" + Chunk("{}", "null", ",\"dataplane\":{\"replace\":true,\"path\":\"gpu\"}");
        var answer = await ReadAsync(Role + Token(" draft") + replace + Token(" better") + Final("speculative", "gpu", replaced: true) + Done);

        Assert.True(answer.Succeeded);
        Assert.Equal(1, answer.ReplaceEvents);
        Assert.Equal("gpu", answer.ReplacePath);
        Assert.Equal(" better", answer.Text);
        Assert.Equal(2, answer.ContentChunks);
        Assert.Equal(4000, answer.FirstContentNs);
        Assert.Equal("speculative", answer.Dataplane!.Path);
        Assert.Equal("gpu", answer.Dataplane.AnsweredBy);
        Assert.True(answer.Dataplane.Replaced);
    }

    [Fact]
    public async Task A_replace_is_recognised_by_its_event_name_alone()
    {
        var answer = await ReadAsync(Token(" a") + "event: replace\n" + Chunk("{}") + Token(" b") + Final("speculative", "gpu") + Done);

        Assert.Equal(1, answer.ReplaceEvents);
        Assert.Equal(" b", answer.Text);
    }

    [Fact]
    public async Task An_error_event_mid_stream_fails_the_answer_with_its_message()
    {
        string error = "data: {\"error\":{\"message\":\"the answer failed midway: boom\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n";
        var answer = await ReadAsync(Role + Token(" x") + error + Done);

        Assert.False(answer.Succeeded);
        Assert.Equal("the answer failed midway: boom", answer.Error);
        Assert.True(answer.Done);
        Assert.Equal(1, answer.ContentChunks);
    }

    [Fact]
    public async Task A_usage_chunk_after_the_final_chunk_is_read_and_keeps_the_dataplane_object()
    {
        string usage = $"data: {{{Head},\"choices\":[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}}}\n\n";
        var answer = await ReadAsync(Role + Token(" a") + Token(" b") + Final("gpu", "gpu") + usage + Done);

        Assert.True(answer.Succeeded);
        Assert.Equal(2, answer.CompletionTokens);
        Assert.Equal("gpu", answer.Dataplane!.Path);
        Assert.Equal("stop", answer.FinishReason);
    }

    [Fact]
    public async Task Comments_crlf_line_ends_and_multi_line_data_are_handled_as_sse_says()
    {
        string stream = ": keep-alive\r\n\r\n" +
            "data: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\" joined\"},\"finish_reason\":\"stop\"}]}\r\n\r\n" +
            "data:[DONE]\r\n\r\n";
        var answer = await ReadAsync(stream);

        Assert.True(answer.Succeeded);
        Assert.Equal(" joined", answer.Text);
    }

    [Fact]
    public async Task A_stream_cut_before_done_and_finish_is_not_a_success_and_a_last_event_without_blank_line_counts()
    {
        var cut = await ReadAsync(Role + Token(" a"));
        Assert.False(cut.Succeeded);
        Assert.Null(cut.Error);

        var lastWithoutBlank = await ReadAsync(Role + Token(" a") + "data: [DONE]");
        Assert.True(lastWithoutBlank.Succeeded);
    }

    [Fact]
    public async Task Malformed_json_is_a_protocol_error()
    {
        var answer = await ReadAsync(Role + "data: {\"choices\": [\n\n" + Done);

        Assert.False(answer.Succeeded);
        Assert.NotNull(answer.ProtocolError);
    }

    [Fact]
    public void A_non_streamed_answer_is_read_from_one_json_object()
    {
        string body = "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5},\"dataplane\":{\"path\":\"degraded\",\"reason\":\"gpu_unavailable\",\"answered_by\":\"local\",\"replaced\":false,\"score\":null,\"ttft_ms\":12}}";

        var answer = ChatAnswerReader.ReadJson(Encoding.UTF8.GetBytes(body), 42);

        Assert.True(answer.Succeeded);
        Assert.Equal("Hi there", answer.Text);
        Assert.Equal(42, answer.FirstContentNs);
        Assert.Equal(new DataplaneSummary("degraded", "gpu_unavailable", "local", false, null, 12), answer.Dataplane);
        Assert.Equal(2, answer.CompletionTokens);
        Assert.False(ChatAnswerReader.ReadJson("[1]"u8, 0).Succeeded);
        Assert.False(ChatAnswerReader.ReadJson("nope"u8, 0).Succeeded);
    }

    [Fact]
    public void The_message_of_an_openai_error_body_is_read()
    {
        Assert.Equal("model x", ChatAnswerReader.ErrorMessage("{\"error\":{\"message\":\"model x\",\"type\":\"t\",\"param\":\"model\",\"code\":\"model_not_found\"}}"u8));
        Assert.Equal("Loading model", ChatAnswerReader.ErrorMessage("{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}"u8));
        Assert.Null(ChatAnswerReader.ErrorMessage("<html>"u8));
    }

    [Fact]
    public async Task What_the_agent_s_own_sse_sink_writes_is_read_back_exactly()
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        var request = new EdgeRequest { Endpoint = EdgeEndpoint.Chat, Model = "local-small", Stream = true, IncludeUsage = true };
        var sink = new SseAnswerSink(context.Response, AnswerIdentity.For(request, TimeProvider.System), includeUsage: true);

        await sink.BeginAsync("speculative", CancellationToken.None);
        await sink.TokenAsync(" draft", CancellationToken.None);
        await sink.ReplaceAsync("gpu", CancellationToken.None);
        await sink.TokenAsync(" final", CancellationToken.None);
        await sink.TokenAsync(" answer", CancellationToken.None);
        await sink.FinishAsync("stop", new UsageDto(4, 2, 6), new DataplaneInfo("speculative", "classifier", "gpu", true, 0.5, 80), CancellationToken.None);
        await context.Response.BodyWriter.FlushAsync();

        body.Position = 0;
        var answer = await ChatAnswerReader.ReadStreamAsync(body, () => 1, CancellationToken.None);

        Assert.True(answer.Succeeded);
        Assert.Equal(" final answer", answer.Text);
        Assert.Equal(1, answer.ReplaceEvents);
        Assert.Equal("gpu", answer.ReplacePath);
        Assert.Equal(new DataplaneSummary("speculative", "classifier", "gpu", true, 0.5, 80), answer.Dataplane);
        Assert.Equal(2, answer.CompletionTokens);
        Assert.Equal("speculative", context.Response.Headers[EdgeHeaders.Path].ToString());
    }

    [Fact]
    public void A_sample_takes_the_dataplane_path_else_the_header_else_unknown_or_none()
    {
        var prompt = new BenchPrompt("p", "short");
        var withInfo = new ChatAnswer { FinishReason = "stop", Dataplane = new DataplaneSummary("gpu", "r", "gpu", false, null, null) };
        var plain = new ChatAnswer { Done = true };
        var failed = new ChatAnswer { Error = "boom" };

        Assert.Equal("gpu", ChatRequestSender.Measured(0, 0, 10, 200, withInfo, "local", prompt).Path);
        Assert.Equal("local", ChatRequestSender.Measured(0, 0, 10, 200, plain, "local", prompt).Path);
        var unknown = ChatRequestSender.Measured(0, 0, 10, 200, plain, null, prompt);
        Assert.Equal(("unknown", "unknown", true), (unknown.Path, unknown.AnsweredBy, unknown.Ok));
        var none = ChatRequestSender.Measured(0, 0, 10, 200, failed, null, prompt);
        Assert.Equal(("none", "stream_error", "boom"), (none.Path, none.ErrorKind, none.ErrorMessage));
        Assert.Equal("truncated", ChatRequestSender.Measured(0, 0, 10, 200, new ChatAnswer(), null, prompt).ErrorKind);
    }

    [Fact]
    public void The_request_body_has_the_contract_s_shape()
    {
        string body = Encoding.UTF8.GetString(ChatRequestSender.Body("local-small", "Say \"hi\"", stream: true, maxTokens: 32));

        Assert.Equal("{\"model\":\"local-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Say \\u0022hi\\u0022\"}],\"stream\":true,\"max_tokens\":32}", body);
    }
}
