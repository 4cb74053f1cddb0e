using System.Diagnostics;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Llm;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>ModelStreamInfer: the deterministic token stream, final flags, concurrency on one stream,
/// in-stream errors and cancellation.</summary>
public sealed class LlmStreamTests : IAsyncLifetime
{
    private static readonly SimulationOptions Options = new()
    {
        Models =
        [
            .. SimulationOptions.DefaultModels.Where(m => m.Name is "llm" or "simple"),
            SimulatedModelOptions.LlmModel("fast_llm") with
            {
                TimeToFirstToken = TimeSpan.FromMilliseconds(2),
                TokensPerSecond = 1000,
                DefaultMaxTokens = 4,
            },
            SimulatedModelOptions.LlmModel("paced_llm") with
            {
                TimeToFirstToken = TimeSpan.FromMilliseconds(50),
                TokensPerSecond = 50,
            },
            SimulatedModelOptions.LlmModel("endless_llm") with
            {
                TimeToFirstToken = TimeSpan.FromMilliseconds(1),
                TokensPerSecond = 200,
            },
        ],
    };

    private SimulatedTritonServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await SimulatedTritonServer.StartAsync(Options);
        await _server.Client.ServerLiveAsync(new ServerLiveRequest());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Sends <paramref name="requests"/> on one stream and reads until each has ended.</summary>
    private async Task<List<ModelStreamInferResponse>> StreamAsync(params ModelInferRequest[] requests)
    {
        using var call = _server.Client.ModelStreamInfer();
        foreach (var request in requests)
        {
            await call.RequestStream.WriteAsync(request);
        }

        var responses = await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count(Requests.EndsRequest) == requests.Length);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(), "the stream sent more than expected");
        return responses;
    }

    [Fact]
    public void Tokens_follow_the_documented_formula_over_a_vocabulary_of_64_distinct_words()
    {
        Assert.Equal(64, SimulatedLlm.Vocabulary.Count);
        Assert.Equal(64, SimulatedLlm.Vocabulary.Distinct().Count());

        ulong hash = SimulatedLlm.Fnv1a64("hello"u8);
        Assert.Equal(0xa430d84680aabd0bUL, hash); // FNV-1a 64 of "hello"
        var tokens = SimulatedLlm.Tokens("hello", 70);
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(" " + SimulatedLlm.Vocabulary[(int)((hash + ((ulong)i * 7919)) % 64)], tokens[i]);
        }

        // The stride is odd, so 64 consecutive tokens use every word once.
        Assert.Equal(64, tokens.Take(64).Distinct().Count());
        Assert.Equal(tokens, SimulatedLlm.Tokens("hello", 70));
        Assert.NotEqual(tokens.Take(8), SimulatedLlm.Tokens("hello!", 8));
    }

    [Fact]
    public async Task Default_llm_streams_its_default_token_count_with_exact_text_and_final_flags_and_pacing()
    {
        var request = Requests.Llm("Tell me about rivers", id: "q1");

        var watch = Stopwatch.StartNew();
        using var call = _server.Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(request);
        Assert.True(await call.ResponseStream.MoveNext());
        var firstTokenAt = watch.Elapsed;
        var responses = new List<ModelStreamInferResponse> { call.ResponseStream.Current };
        responses.AddRange(await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count > 0 && Requests.EndsRequest(r[^1])));
        var lastTokenAt = watch.Elapsed;
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Equal(16, responses.Count);
        Assert.All(responses, r => Assert.Empty(r.ErrorMessage));
        Assert.All(responses, r => Assert.Equal("q1", r.InferResponse.Id));
        Assert.All(responses, r => Assert.Equal("llm", r.InferResponse.ModelName));
        Assert.Equal(SimulatedLlm.Tokens("Tell me about rivers", 16), responses.Select(r => Requests.Token(r.InferResponse)));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => i == 15), responses.Select(r => Requests.IsFinal(r.InferResponse)));

        // 50 ms to the first token, then 50 tokens/s (20 ms each).
        Assert.True(firstTokenAt >= TimeSpan.FromMilliseconds(50), $"first token after {firstTokenAt.TotalMilliseconds} ms");
        Assert.True(lastTokenAt >= TimeSpan.FromMilliseconds(50 + (15 * 20)), $"last token after {lastTokenAt.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Max_tokens_input_sets_the_token_count()
    {
        var responses = await StreamAsync(Requests.Llm("abc", maxTokens: 7, model: "fast_llm"));

        Assert.Equal(SimulatedLlm.Tokens("abc", 7), responses.Select(r => Requests.Token(r.InferResponse)));
        Assert.True(Requests.IsFinal(responses[^1].InferResponse));
        Assert.All(responses.SkipLast(1), r => Assert.False(Requests.IsFinal(r.InferResponse)));
    }

    [Fact]
    public async Task Typed_inputs_are_read_like_raw_ones()
    {
        var request = new ModelInferRequest { ModelName = "fast_llm", Id = "typed" };
        var text = Requests.Input(SimulatedLlm.TextInput, TensorDataType.Bytes, [1]);
        text.Contents = new InferTensorContents();
        text.Contents.BytesContents.Add(ByteString.CopyFromUtf8("héllo wörld"));
        var max = Requests.Input(SimulatedLlm.MaxTokensInput, TensorDataType.Int32, [1]);
        max.Contents = new InferTensorContents();
        max.Contents.IntContents.Add(3);
        request.Inputs.Add(text);
        request.Inputs.Add(max);

        var responses = await StreamAsync(request);

        Assert.Equal(SimulatedLlm.Tokens("héllo wörld", 3), responses.Select(r => Requests.Token(r.InferResponse)));
    }

    [Fact]
    public async Task Empty_final_mode_marks_no_token_final_and_ends_with_an_empty_final_response()
    {
        var responses = await StreamAsync(Requests.Llm("xyz", maxTokens: 5, model: "fast_llm", id: "e", emptyFinal: true));

        Assert.Equal(6, responses.Count);
        Assert.All(responses.Take(5), r => Assert.False(Requests.IsFinal(r.InferResponse)));
        Assert.Equal(SimulatedLlm.Tokens("xyz", 5), responses.Take(5).Select(r => Requests.Token(r.InferResponse)));
        var last = responses[^1].InferResponse;
        Assert.Empty(last.Outputs);
        Assert.Empty(last.RawOutputContents);
        Assert.Equal("e", last.Id);
        Assert.Equal("fast_llm", last.ModelName);
        Assert.True(Requests.IsFinal(last));
    }

    [Fact]
    public async Task Two_requests_on_one_stream_run_concurrently_and_their_responses_interleave()
    {
        // 8 tokens 20 ms apart: unless B starts 140 ms after A, their tokens interleave.
        var responses = await StreamAsync(
            Requests.Llm("first prompt", maxTokens: 8, model: "paced_llm", id: "A"),
            Requests.Llm("second prompt", maxTokens: 8, model: "paced_llm", id: "B"));

        Assert.Equal(16, responses.Count);
        var a = responses.Where(r => r.InferResponse.Id == "A").ToList();
        var b = responses.Where(r => r.InferResponse.Id == "B").ToList();
        Assert.Equal(SimulatedLlm.Tokens("first prompt", 8), a.Select(r => Requests.Token(r.InferResponse)));
        Assert.Equal(SimulatedLlm.Tokens("second prompt", 8), b.Select(r => Requests.Token(r.InferResponse)));
        Assert.True(Requests.IsFinal(a[^1].InferResponse));
        Assert.True(Requests.IsFinal(b[^1].InferResponse));

        // Run one after the other, every A would come before every B.
        Assert.True(responses.IndexOf(b[0]) < responses.IndexOf(a[^1]), "the responses of A and B did not interleave");
        Assert.True(responses.IndexOf(a[0]) < responses.IndexOf(b[^1]), "the responses of A and B did not interleave");
    }

    [Fact]
    public async Task Errors_go_in_stream_without_a_code_prefix_and_the_stream_stays_open()
    {
        var unknown = Requests.Llm("hi", model: "nope", id: "bad-1");
        var noPrompt = new ModelInferRequest { ModelName = "fast_llm", Id = "bad-2" };
        noPrompt.Inputs.Add(Requests.Input(SimulatedLlm.MaxTokensInput, TensorDataType.Int32, [1]));
        noPrompt.RawInputContents.Add(ByteString.CopyFrom(new byte[] { 2, 0, 0, 0 }));
        var zeroTokens = Requests.Llm("hi", maxTokens: 0, model: "fast_llm", id: "bad-3");
        var good = Requests.Llm("still here", maxTokens: 2, model: "fast_llm", id: "good");

        var responses = await StreamAsync(unknown, noPrompt, zeroTokens, good);

        var errors = responses.Where(r => r.ErrorMessage.Length > 0).ToDictionary(r => r.InferResponse.Id);
        Assert.Equal(3, errors.Count);

        // Refused before inference: the error and the request id, nothing else.
        Assert.Equal("Request for unknown model: 'nope' is not found", errors["bad-1"].ErrorMessage);
        Assert.Equal(new ModelInferResponse { Id = "bad-1" }, errors["bad-1"].InferResponse);
        Assert.Equal("[request id: bad-2] expected number of inputs between 1 and 2 but got 1 inputs for model 'fast_llm'. " +
            "Got input(s) ['max_tokens'], but missing required input(s) ['text_input']. Please provide all required input(s).", errors["bad-2"].ErrorMessage);
        Assert.Equal(new ModelInferResponse { Id = "bad-2" }, errors["bad-2"].InferResponse);

        // Failed during inference: the request's id, model and version, marked final.
        Assert.Equal("input 'max_tokens' is 0; ask for at least one token", errors["bad-3"].ErrorMessage);
        Assert.Equal(("bad-3", "fast_llm", ""), (errors["bad-3"].InferResponse.Id, errors["bad-3"].InferResponse.ModelName, errors["bad-3"].InferResponse.ModelVersion));
        Assert.True(Requests.IsFinal(errors["bad-3"].InferResponse));
        Assert.Empty(errors["bad-3"].InferResponse.Outputs);

        var tokens = responses.Where(r => r.InferResponse.Id == "good").ToList();
        Assert.Equal(SimulatedLlm.Tokens("still here", 2), tokens.Select(r => Requests.Token(r.InferResponse)));
    }

    [Fact]
    public async Task With_the_triton_grpc_error_header_an_inference_error_ends_the_stream_with_its_status()
    {
        using var call = _server.Client.ModelStreamInfer(new Metadata { { "triton_grpc_error", "true" } });

        // An error found before inference still comes as a response.
        await call.RequestStream.WriteAsync(Requests.Llm("hi", model: "nope", id: "before"));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("Request for unknown model: 'nope' is not found", call.ResponseStream.Current.ErrorMessage);

        // An error raised by the model ends the stream with its code and text.
        await call.RequestStream.WriteAsync(Requests.Llm("hi", maxTokens: 0, model: "fast_llm", id: "during"));
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("input 'max_tokens' is 0; ask for at least one token", e.Status.Detail);
    }

    [Fact]
    public async Task Triton_parameters_other_than_empty_final_response_are_refused_on_the_stream()
    {
        var request = Requests.Llm("hi", maxTokens: 1, model: "fast_llm", id: "p");
        request.Parameters["triton_enable_tracing"] = new InferParameter { BoolParam = true };

        var response = Assert.Single(await StreamAsync(request));

        Assert.Equal("parameter keys starting with 'triton_' are reserved for Triton usage. Only the following keys starting with 'triton_' " +
            "are allowed: triton_enable_empty_final_response", response.ErrorMessage);
    }

    [Fact]
    public async Task A_tensor_model_on_the_stream_gets_one_final_response_with_its_outputs()
    {
        var request = Requests.Simple(3);

        var responses = await StreamAsync(request);

        var response = Assert.Single(responses).InferResponse;
        Assert.Equal(request.Id, response.Id);
        Assert.True(Requests.IsFinal(response));
        Assert.Equal([3L, 16L], response.Outputs[0].Shape);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, request.RawInputContents[0].Span), response.RawOutputContents[0].ToByteArray());
    }

    [Fact]
    public async Task Cancelling_the_stream_stops_token_generation()
    {
        using var cancel = new CancellationTokenSource();
        using (var call = _server.Client.ModelStreamInfer(cancellationToken: cancel.Token))
        {
            await call.RequestStream.WriteAsync(Requests.Llm("go on forever", maxTokens: 1_000_000, model: "endless_llm", id: "long"));
            var firstTwo = await Requests.ReadUntilAsync(call.ResponseStream, r => r.Count == 2);
            Assert.Equal(2, firstTwo.Count);
            await cancel.CancelAsync();
        }

        // The server notices the cancellation on its own time: wait for the request to be counted as failed.
        var stopwatch = Stopwatch.StartNew();
        ModelStatistics stats;
        do
        {
            stats = (await _server.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "endless_llm" })).ModelStats.Single();
            if (stats.InferenceStats.Fail.Count > 0)
            {
                break;
            }

            await Task.Delay(10);
        }
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(1ul, stats.InferenceStats.Fail.Count);
        Assert.Equal(0ul, stats.InferenceStats.Success.Count);
    }
}
