using System.Net;
using System.Text;
using DataPlane.Host.Tests.Infrastructure;

namespace DataPlane.Host.Tests.Http;

/// <summary>Malformed inference requests get Triton's status and text, always in a JSON error body, never a hang.</summary>
public class HttpMalformedRequestTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private const string Int32Input = """{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[1,2]}""";

    private HttpClient Http => fixture.Harness.Http;

    /// <summary>A JSON body, the status it must get and its error (a trailing * means "starts with").</summary>
    public static TheoryData<string, string, int, string> JsonCases() => new()
    {
        { "echo_int32", """{"inputs":[""", 500, "failed to parse the request JSON buffer: *" },
        { "echo_int32", "{} x", 500, "failed to parse the request JSON buffer: The document root must not be followed by other values. at 3" },
        { "echo_int32", "", 500, "failed to parse the request JSON buffer: The document is empty. at 0" },
        { "echo_int32", "{}", 500, "Unable to parse 'inputs': attempt to access non-existing object member 'inputs'" },
        { "echo_int32", """{"inputs":{}}""", 500, "Unable to parse 'inputs': attempt to access JSON non-array as array" },
        { "echo_int32", """{"id":7,"inputs":[]}""", 500, "Unable to parse 'id': attempt to access JSON non-string as string" },
        {
            "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2]}]}""", 400,
            "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But no field is set"
        },
        {
            "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[1,2],"parameters":{"binary_data_size":8}}]}""", 400,
            "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But set 'data' 'binary_data_size'"
        },
        { "echo_int32", """{"inputs":[{"datatype":"INT32","shape":[1,2],"data":[1,2]}]}""", 500, "Unable to parse 'name': attempt to access non-existing object member 'name'" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":3,"shape":[1,2],"data":[1,2]}]}""", 500, "Unable to parse 'datatype': attempt to access JSON non-string as string" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,-2],"data":[1,2]}]}""", 500, "Unable to parse 'shape': attempt to access JSON non-unsigned-integer as unsigned-integer" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[1,"2"]}]}""", 500, "Unable to parse 'data': attempt to access JSON non-signed-integer as signed-integer" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[1,2,3]}]}""", 500, "Unable to parse 'data': Shape does not match true shape of 'data' field" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,3],"data":[[1],[2]]}]}""", 500, "Unable to parse 'data': Shape does not match true shape of 'data' field" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":5}]}""", 500, "Unable to parse 'data': attempt to access JSON non-array as array" },
        { "echo_uint8", """{"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[1,1],"data":[-1]}]}""", 500, "Unable to parse 'data': attempt to access JSON non-unsigned-integer as unsigned-integer" },
        { "echo_fp64", """{"inputs":[{"name":"INPUT0","datatype":"FP64","shape":[1,1],"data":[true]}]}""", 500, "Unable to parse 'data': attempt to access JSON non-number as double" },
        { "echo_bool", """{"inputs":[{"name":"INPUT0","datatype":"BOOL","shape":[1,1],"data":[1]}]}""", 500, "Unable to parse 'data': attempt to access JSON non-boolean as boolean" },
        { "echo_bytes", """{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,2],"data":["a",2]}]}""", 500, "Unable to parse JSON bytes array: attempt to access JSON non-string as string" },
        { "echo_fp16", """{"inputs":[{"name":"INPUT0","datatype":"FP16","shape":[1,1],"data":[1.0]}]}""", 400, "receiving FP16 data via JSON is not supported. Please use the binary data format for input INPUT0" },
        { "echo_bf16", """{"inputs":[{"name":"INPUT0","datatype":"BF16","shape":[1,1],"data":[1.0]}]}""", 400, "receiving BF16 data via JSON is not supported. Please use the binary data format for input INPUT0" },
        { "echo_int32", """{"inputs":[{"name":"INPUT0","datatype":"FLOAT","shape":[1,1],"data":[1]}]}""", 400, "invalid datatype for input INPUT0" },
        {
            "echo_int32", $$$"""{"parameters":{"triton_enable_empty_final_response":true},"inputs":[{{{Int32Input}}}]}""", 400,
            "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified."
        },
        { "echo_int32", $$$"""{"parameters":{"c":null},"inputs":[{{{Int32Input}}}]}""", 400, "parameter 'c' has invalid type. It should be either 'int', 'bool', or 'string'." },
        { "echo_int32", $$$"""{"parameters":[1],"inputs":[{{{Int32Input}}}]}""", 500, "failed to get request params.: attempt to get members for non-object" },
        { "echo_int32", $$$"""{"parameters":{"sequence_start":1},"inputs":[{{{Int32Input}}}]}""", 500, "Unable to parse 'sequence_start': attempt to access JSON non-boolean as boolean" },
        { "echo_int32", $$$"""{"parameters":{"sequence_id":true},"inputs":[{{{Int32Input}}}]}""", 500, "Unable to parse 'sequence_id': attempt to access JSON non-string as string" },
        { "echo_int32", $$$"""{"parameters":{"priority":-1},"inputs":[{{{Int32Input}}}]}""", 500, "Unable to parse 'priority': attempt to access JSON non-unsigned-integer as unsigned-integer" },
        { "echo_int32", $$$"""{"parameters":{"binary_data_output":"yes"},"inputs":[{{{Int32Input}}}]}""", 500, "Unable to parse 'binary_data_output': attempt to access JSON non-boolean as boolean" },
        { "echo_int32", $$$"""{"inputs":[{{{Int32Input}}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":1}}]}""", 500, "Unable to parse 'binary_data': attempt to access JSON non-boolean as boolean" },
        {
            "echo_int32", $$$"""{"inputs":[{{{Int32Input}}}],"outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"r","binary_data":true}}]}""", 400,
            "Output can't set both 'shared_memory_region' and 'binary_data'"
        },
        {
            "echo_int32", $$$"""{"inputs":[{{{Int32Input}}}],"outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"r","classification":2}}]}""", 400,
            "Output can't set both 'shared_memory_region' and 'classification'"
        },
        { "echo_int32", $$$"""{"inputs":[{{{Int32Input}}}],"outputs":[{"parameters":{}}]}""", 500, "Unable to parse 'name': attempt to access non-existing object member 'name'" },
        { "echo_int32", $$$"""{"inputs":[{{{Int32Input}}}],"outputs":[{"name":"OUTPUT9"}]}""", 400, "unexpected inference output 'OUTPUT9' for model 'echo_int32'" },
        { "echo_int32", $$$"""{"inputs":[{{{Int32Input}}},{{{Int32Input}}}]}""", 400, "[request id: <id_unknown>] input 'INPUT0' already exists in request" },
        { "nope", $$$"""{"inputs":[{{{Int32Input}}}]}""", 404, "Request for unknown model: 'nope' is not found" },
        { "echo_int32/versions/3", $$$"""{"inputs":[{{{Int32Input}}}]}""", 404, "Request for unknown model: 'echo_int32' version 3 is not found" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task Malformed_json_requests_get_triton_errors(string model, string json, int status, string error)
    {
        var answer = await HttpInfer.InferAsync(Http, model, HttpInfer.Json(json));
        Assert.Equal((HttpStatusCode)status, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        AssertError(error, answer.Error);
    }

    [Fact]
    public async Task A_syntax_error_inside_the_root_is_described_where_it_is()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json("{\"inputs\": x}"));
        Assert.Equal(HttpStatusCode.InternalServerError, answer.Status);
        Assert.StartsWith("failed to parse the request JSON buffer: ", answer.Error);
        Assert.DoesNotContain("root", answer.Error, StringComparison.Ordinal);
        Assert.EndsWith(" at 11", answer.Error);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_json_string_is_a_parse_error()
    {
        byte[] body = [.. "{\"id\":\""u8, 0xff, 0xfe, .. "\",\"inputs\":[]}"u8];
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Bytes(body, "application/json"));
        Assert.Equal(HttpStatusCode.InternalServerError, answer.Status);
        Assert.Equal("failed to parse the request JSON buffer: Invalid encoding in string. at 6", answer.Error);
    }

    [Fact]
    public async Task Binary_data_shorter_than_announced_is_a_shortfall()
    {
        string header = """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"parameters":{"binary_data_size":16}}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(header, new byte[10]));
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("unexpected size for input 'INPUT0', expecting 6 additional bytes for model 'echo_int32'", answer.Error);
    }

    [Fact]
    public async Task Binary_data_longer_than_announced_is_leftover()
    {
        string header = """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,1],"parameters":{"binary_data_size":4}}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(header, new byte[6]));
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("unexpected additional input data for model 'echo_int32'", answer.Error);
    }

    [Fact]
    public async Task Binary_data_of_the_wrong_size_for_the_shape_is_the_core_byte_size_error()
    {
        string header = """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"parameters":{"binary_data_size":4}}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(header, new byte[4]));
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.StartsWith("[request id: <id_unknown>] input byte size mismatch for input 'INPUT0' for model 'echo_int32'. Expected 8, got 4", answer.Error);
    }

    [Theory]
    [InlineData("abc", "Unable to parse Inference-Header-Content-Length, got: abc")]
    [InlineData("99999999999", "Unable to parse Inference-Header-Content-Length, value is out of range [ -2147483648, 2147483647 ], got: 99999999999")]
    [InlineData("-1", "inference header size should be in range (0, 20), got: -1")]
    [InlineData("21", "inference header size should be in range (0, 20), got: 21")]
    public async Task Bad_header_lengths_are_400(string value, string error)
    {
        var content = HttpInfer.Bytes(new byte[20]);
        content.Headers.Add("Inference-Header-Content-Length", value);
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", content);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(error, answer.Error);
    }

    [Fact]
    public async Task An_unsupported_content_encoding_is_501_with_the_codings_taken()
    {
        var content = HttpInfer.Json("{}");
        content.Headers.ContentEncoding.Add("br");
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", content);
        Assert.Equal(HttpStatusCode.NotImplemented, answer.Status);
        Assert.Equal("Unsupported compression type", answer.Error);
        Assert.Equal("gzip, deflate", answer.Message.Headers.GetValues("Accept-Encoding").Single());
    }

    [Fact]
    public async Task A_gzip_body_that_is_not_gzip_is_400()
    {
        var content = HttpInfer.Json("{\"inputs\":[]}");
        content.Headers.ContentEncoding.Add("gzip");
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", content);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.StartsWith("failed to decompress the request body", answer.Error);
    }

    [Fact]
    public async Task A_raw_bytes_request_needs_a_model_input_of_shape_1()
    {
        var content = HttpInfer.Bytes(Encoding.UTF8.GetBytes("hello"));
        content.Headers.Add("Inference-Header-Content-Length", "0");
        var answer = await HttpInfer.InferAsync(Http, "echo_bytes", content);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("[request id: <id_unknown>] For BYTE datatype raw input 'INPUT0', the model must have input shape [1]", answer.Error);
    }

    [Fact]
    public async Task A_binary_input_of_another_datatype_is_the_core_datatype_error()
    {
        string header = """{"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[1,1],"parameters":{"binary_data_size":8}}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(header, new byte[8]));
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("[request id: <id_unknown>] inference input 'INPUT0' data-type is 'INT64', but model 'echo_int32' expects 'INT32'", answer.Error);
    }

    [Fact]
    public async Task An_unknown_shared_memory_region_is_404()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,1],"parameters":{"shared_memory_region":"nope","shared_memory_byte_size":4}}]}"""));
        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Equal("Unable to find shared memory region: 'nope'", answer.Error);
    }

    private static void AssertError(string expected, string actual)
    {
        if (expected.EndsWith('*'))
        {
            Assert.StartsWith(expected[..^1], actual, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(expected, actual);
        }
    }
}
