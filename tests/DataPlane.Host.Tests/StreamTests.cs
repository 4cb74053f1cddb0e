using System.Diagnostics;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Llm;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>ModelStreamInfer through the daemon for the decoupled LLM model.</summary>
public class StreamTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => fixture.Harness.Client;

    private static ModelInferRequest Prompt(string prompt, int maxTokens, string id, bool emptyFinal = false)
    {
        var r = new ModelInferRequest { ModelName = "llm", Id = id };
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "text_input", Datatype = "BYTES", Shape = { 1 } });
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "max_tokens", Datatype = "INT32", Shape = { 1 } });
        r.RawInputContents.Add(ByteString.CopyFrom(BytesTensor.Encode(prompt)));
        r.RawInputContents.Add(ByteString.CopyFrom(BitConverter.GetBytes(maxTokens)));
        if (emptyFinal)
        {
            r.Parameters["triton_enable_empty_final_response"] = new InferParameter { BoolParam = true };
        }

        return r;
    }

    private static string Token(ModelStreamInferResponse r) =>
        BytesTensor.Decode(r.InferResponse.RawOutputContents[0].Span).Single().ToStringUtf8();

    private static bool Final(ModelStreamInferResponse r) =>
        r.InferResponse.Parameters.TryGetValue("triton_final_response", out var p) && p.BoolParam;

    private static async Task<List<ModelStreamInferResponse>> ReadAll(AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> call)
    {
        var list = new List<ModelStreamInferResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync())
        {
            list.Add(r);
        }

        return list;
    }

    [Fact]
    public async Task Tokens_stream_back_with_the_client_id_and_one_final_flag()
    {
        using var call = Client.ModelStreamInfer(new Metadata { { "dataplane-timing", "1" } });
        await call.RequestStream.WriteAsync(Prompt("why is the sky blue", 5, "q1"));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);

        Assert.Equal(5, responses.Count);
        Assert.All(responses, r => Assert.Equal("", r.ErrorMessage));
        Assert.All(responses, r => Assert.Equal("q1", r.InferResponse.Id));
        Assert.Equal(SimulatedLlm.Tokens("why is the sky blue", 5), responses.Select(Token));
        Assert.Equal([false, false, false, false, true], responses.Select(Final));

        // A caller that asks gets the host's share of the first token's latency (the simulated model takes 50 ms).
        Assert.InRange(responses[0].InferResponse.Parameters["dataplane_upstream_first_response_us"].Int64Param, 40_000, 10_000_000);
        Assert.All(responses.Skip(1), r => Assert.False(r.InferResponse.Parameters.ContainsKey("dataplane_upstream_first_response_us")));
    }

    [Fact]
    public async Task Clients_that_do_not_ask_get_exactly_the_upstreams_parameters()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Prompt("plain", 2, "p"));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);
        Assert.Equal(2, responses.Count);
        Assert.All(responses, r => Assert.False(r.InferResponse.Parameters.ContainsKey("dataplane_upstream_first_response_us")));
    }

    [Fact]
    public async Task Streamed_requests_count_in_model_statistics_once_each_as_in_triton()
    {
        var before = (await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "llm" })).ModelStats.Single();
        using (var call = Client.ModelStreamInfer())
        {
            for (int i = 0; i < 3; i++)
            {
                await call.RequestStream.WriteAsync(Prompt($"stat {i}", 4, $"s{i}"));
            }

            await call.RequestStream.CompleteAsync();
            Assert.Equal(12, (await ReadAll(call)).Count);
        }

        var after = (await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "llm" })).ModelStats.Single();
        var i0 = before.InferenceStats;
        var i1 = after.InferenceStats;
        Assert.Equal(i0.Success.Count + 3, i1.Success.Count);
        Assert.Equal(i1.Success.Count, i1.Queue.Count);
        Assert.Equal(i1.Success.Count, i1.ComputeInput.Count);
        Assert.Equal(i1.Success.Count, i1.ComputeInfer.Count);
        Assert.Equal(i1.Success.Count, i1.ComputeOutput.Count);
        Assert.True(i1.ComputeInfer.Ns > i0.ComputeInfer.Ns);
        Assert.Equal(before.InferenceCount + 3, after.InferenceCount);
        Assert.Equal(before.ExecutionCount + 3, after.ExecutionCount);
        // Four responses per request, counted by index.
        for (int k = 0; k < 4; k++)
        {
            ulong was = before.ResponseStats.TryGetValue(k.ToString(System.Globalization.CultureInfo.InvariantCulture), out var r0) ? r0.Success.Count : 0;
            Assert.Equal(was + 3, after.ResponseStats[k.ToString(System.Globalization.CultureInfo.InvariantCulture)].Success.Count);
        }
    }

    [Fact]
    public async Task Empty_final_response_is_passed_on_only_when_asked_for()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Prompt("hello", 3, "a", emptyFinal: true));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);
        Assert.Equal(4, responses.Count);
        Assert.Empty(responses[3].InferResponse.Outputs);
        Assert.True(Final(responses[3]));
        Assert.All(responses.Take(3), r => Assert.False(Final(r)));
    }

    [Fact]
    public async Task Interleaved_requests_on_one_stream_keep_their_ids_even_when_clients_reuse_them()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Prompt("first prompt", 4, "same"));
        await call.RequestStream.WriteAsync(Prompt("second prompt", 6, "other"));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);
        Assert.Equal(10, responses.Count);
        Assert.Equal(SimulatedLlm.Tokens("first prompt", 4), responses.Where(r => r.InferResponse.Id == "same").Select(Token));
        Assert.Equal(SimulatedLlm.Tokens("second prompt", 6), responses.Where(r => r.InferResponse.Id == "other").Select(Token));
    }

    [Fact]
    public async Task Bad_requests_get_in_stream_errors_and_the_stream_goes_on()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Prompt("x", 2, "ok1"));
        var unknown = Prompt("x", 2, "bad2");
        unknown.ModelName = "gpt-9";
        await call.RequestStream.WriteAsync(unknown);
        var badInput = Prompt("x", 2, "bad3");
        badInput.RawInputContents[0] = ByteString.CopyFrom(9, 0, 0, 0, 1);
        await call.RequestStream.WriteAsync(badInput);
        await call.RequestStream.WriteAsync(Prompt("good", 2, "good"));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);

        var errors = responses.Where(r => r.ErrorMessage.Length > 0).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal("Request for unknown model: 'gpt-9' is not found", errors.Single(r => r.InferResponse.Id == "bad2").ErrorMessage);
        Assert.StartsWith("input 'text_input': BYTES element 0 declares length 9",
            errors.Single(r => r.InferResponse.Id == "bad3").ErrorMessage);
        Assert.Equal(2, responses.Count(r => r.InferResponse.Id == "good"));
        Assert.Equal(2, responses.Count(r => r.InferResponse.Id == "ok1"));
    }

    [Fact]
    public async Task Grpc_error_mode_ends_the_stream_at_an_inference_error_with_tritons_status()
    {
        var headers = new Metadata { { "triton_grpc_error", "true" } };
        using var call = Client.ModelStreamInfer(headers);

        // As in Triton, an error found before inference still arrives in-stream...
        var bad = Prompt("x", 2, "bad");
        bad.Inputs[1].Datatype = "FP32";
        await call.RequestStream.WriteAsync(bad);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("[request id: bad] inference input 'max_tokens' data-type is 'FP32', but model 'llm' expects 'INT32'",
            call.ResponseStream.Current.ErrorMessage);

        // ...and the first error raised by the model ends the stream with the model's own code and text.
        await call.RequestStream.WriteAsync(Prompt("x", 0, "zero"));
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("input 'max_tokens' is 0; ask for at least one token", e.Status.Detail);
    }

    [Fact]
    public async Task Models_that_are_not_decoupled_answer_once_per_request()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Tensors.Raw("echo_int16", TensorDataType.Int16, [1, 2], [1, 0, 2, 0], "e1"));
        await call.RequestStream.CompleteAsync();
        var response = Assert.Single(await ReadAll(call));
        Assert.Equal("e1", response.InferResponse.Id);
        Assert.Equal(new byte[] { 2, 0, 3, 0 }, response.InferResponse.RawOutputContents[0].ToByteArray());
    }

    [Fact]
    public async Task Answers_of_models_that_are_not_decoupled_keep_request_order_even_for_errors_found_here()
    {
        using var call = Client.ModelStreamInfer();
        // The first takes the simulated model's 5 ms; the second and fourth are refused here at once; all keep their place.
        await call.RequestStream.WriteAsync(Tensors.Simple(2, 1, "a"));
        var bad = Tensors.Simple(1, 2, "b");
        bad.Inputs[0].Datatype = "INT32";
        await call.RequestStream.WriteAsync(bad);
        await call.RequestStream.WriteAsync(Tensors.Raw("echo_int16", TensorDataType.Int16, [1, 2], [1, 0, 2, 0], "c"));
        var unknown = Tensors.Simple(1, 3, "d");
        unknown.ModelName = "no-such-model";
        await call.RequestStream.WriteAsync(unknown);
        await call.RequestStream.WriteAsync(Tensors.Simple(1, 4, "e"));
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);
        Assert.Equal(["a", "b", "c", "d", "e"], responses.Select(r => r.InferResponse.Id));
        Assert.Equal([false, true, false, true, false], responses.Select(r => r.ErrorMessage.Length > 0));
    }

    [Fact]
    public async Task Timeout_bounds_the_wait_for_the_first_token()
    {
        using var call = Client.ModelStreamInfer();
        var hurried = Prompt("slow start", 3, "t");
        hurried.Parameters["timeout"] = new InferParameter { Int64Param = 5_000 }; // 5 ms, first token takes 50 ms
        await call.RequestStream.WriteAsync(hurried);
        await call.RequestStream.CompleteAsync();
        var responses = await ReadAll(call);
        var error = Assert.Single(responses);
        Assert.StartsWith("no first response from model 'llm' within its deadline", error.ErrorMessage);
        Assert.Equal("t", error.InferResponse.Id);
    }

    [Fact]
    public async Task Response_headers_wait_for_the_first_token()
    {
        var watch = Stopwatch.StartNew();
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Prompt("hedge me", 2, "h"));
        await call.ResponseHeadersAsync;
        long headersAt = watch.ElapsedMilliseconds;
        await call.RequestStream.CompleteAsync();
        await ReadAll(call);
        // Time to first token of the simulated model is 50 ms.
        Assert.True(headersAt >= 40, $"headers arrived after {headersAt} ms, before the first token could exist");
    }

    [Fact]
    public async Task Streams_are_counted_in_metrics()
    {
        using (var call = Client.ModelStreamInfer())
        {
            await call.RequestStream.WriteAsync(Prompt("count me", 3, "m"));
            await call.RequestStream.CompleteAsync();
            await ReadAll(call);
        }

        string metrics = await fixture.Harness.MetricsTextAsync();
        Assert.Matches("dataplane_stream_requests_total\\{model=\"llm\",outcome=\"ok\"\\} [1-9]", metrics);
        Assert.Matches("dataplane_stream_first_response_seconds_count\\{model=\"llm\"\\} [1-9]", metrics);
        Assert.Matches("dataplane_stream_responses_total\\{model=\"llm\"\\} [1-9]", metrics);
        Assert.Contains("dataplane_stream_inflight_requests{model=\"llm\"} 0", metrics);
    }
}
