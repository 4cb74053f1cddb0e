using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>Request parameters as Triton's gRPC front end checks them.</summary>
public class ParameterTests : IClassFixture<DefaultServerFixture>
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client;

    public ParameterTests(DefaultServerFixture fixture) => _client = fixture.Client;

    private static ModelInferRequest With(string key, InferParameter value)
    {
        var request = Requests.Simple(1);
        request.Parameters[key] = value;
        return request;
    }

    private async Task<string> RefusedAsync(string key, InferParameter value)
    {
        var e = await Requests.FailsWith(StatusCode.InvalidArgument, () => _client.ModelInferAsync(With(key, value)).ResponseAsync);
        return e.Status.Detail;
    }

    [Fact]
    public async Task Empty_final_response_priority_timeout_and_custom_parameters_of_the_allowed_types_are_accepted()
    {
        // The C++ client sends triton_enable_empty_final_response on every request, unary included.
        var request = With("triton_enable_empty_final_response", new InferParameter { BoolParam = false });
        request.Parameters["priority"] = new InferParameter { Uint64Param = 2 };
        request.Parameters["timeout"] = new InferParameter { Int64Param = 1000 };
        request.Parameters["headers"] = new InferParameter { StringParam = "x" };
        request.Parameters["binary_data_output"] = new InferParameter { BoolParam = true };
        request.Parameters["custom_int"] = new InferParameter { Int64Param = -4 };
        request.Parameters["custom_double"] = new InferParameter { DoubleParam = 0.5 };

        var response = await _client.ModelInferAsync(request);

        Assert.Empty(response.Parameters);
        await _client.ModelInferAsync(With("priority", new InferParameter { Int64Param = 0 }));
    }

    [Fact]
    public async Task Triton_keys_other_than_empty_final_response_are_reserved()
    {
        Assert.Equal("parameter keys starting with 'triton_' are reserved for Triton usage. Only the following keys starting with 'triton_' are allowed: " +
            "triton_enable_empty_final_response", await RefusedAsync("triton_final_response", new InferParameter { BoolParam = true }));
        Assert.Equal("invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param.",
            await RefusedAsync("triton_enable_empty_final_response", new InferParameter { StringParam = "true" }));
    }

    [Fact]
    public async Task Parameter_types_are_checked_with_tritons_texts()
    {
        Assert.Equal("invalid value type for 'custom' parameter, expected int64_param, bool_param, or string_param.",
            await RefusedAsync("custom", new InferParameter { Uint64Param = 1 }));
        Assert.Equal("invalid value for 'priority', expected value >= 0.", await RefusedAsync("priority", new InferParameter { Int64Param = -1 }));
        Assert.Equal("invalid value type for 'priority' parameter, expected int64_param or uint64_param.",
            await RefusedAsync("priority", new InferParameter { StringParam = "1" }));
        Assert.Equal("invalid value type for 'timeout' parameter, expected int64_param.", await RefusedAsync("timeout", new InferParameter { Uint64Param = 5 }));
        Assert.Equal("invalid value type for 'sequence_id' parameter, expected int64_param or string_param.",
            await RefusedAsync("sequence_id", new InferParameter { Uint64Param = 5 }));
        Assert.Equal("invalid value type for 'sequence_start' parameter, expected bool_param.",
            await RefusedAsync("sequence_start", new InferParameter { Int64Param = 1 }));
    }

    [Fact]
    public async Task Sequence_parameters_are_ignored_by_models_without_a_sequence_batcher()
    {
        var request = With("sequence_id", new InferParameter { Int64Param = 3 });
        request.Parameters["sequence_start"] = new InferParameter { BoolParam = true };

        var response = await _client.ModelInferAsync(request);

        Assert.Single(response.Outputs);
    }
}
