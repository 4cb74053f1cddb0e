using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;
using DataPlane.Simulation.Options;

namespace DataPlane.Host.Tests.Http;

/// <summary>Inference over HTTP: JSON and binary tensors of every datatype, raw binary requests, compression both
/// ways, and the answer's shape (key order, headers, binary blobs).</summary>
public class HttpInferTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private HttpClient Http => fixture.Harness.Http;

    public static TheoryData<TensorDataType> JsonTypes() => [.. TensorDataTypes.All.Where(t => t is not (TensorDataType.Fp16 or TensorDataType.Bf16))];

    public static TheoryData<TensorDataType> AllTypes() => [.. TensorDataTypes.All];

    [Theory]
    [MemberData(nameof(JsonTypes))]
    public async Task Json_tensors_of_every_json_datatype_round_trip(TensorDataType type)
    {
        byte[] raw = HttpInfer.JsonSafeRaw(new Random((int)type), type, 6);
        var request = new JsonObject
        {
            ["id"] = "req-" + type.WireName(),
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "INPUT0",
                ["datatype"] = type.WireName(),
                ["shape"] = new JsonArray(2, 3),
                ["data"] = HttpInfer.ToJson(type, raw),
            }),
        };
        var answer = await HttpInfer.InferAsync(Http, SimulationOptions.EchoModelName(type), HttpInfer.Json(HttpInfer.Serialize(request)));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Null(answer.HeaderLength);
        var json = answer.Node.AsObject();
        Assert.Equal(["id", "model_name", "model_version", "outputs"], json.Select(p => p.Key));
        Assert.Equal("req-" + type.WireName(), json["id"]!.GetValue<string>());
        Assert.Equal(SimulationOptions.EchoModelName(type), json["model_name"]!.GetValue<string>());
        Assert.Equal("1", json["model_version"]!.GetValue<string>());
        var output = Assert.Single(json["outputs"]!.AsArray())!.AsObject();
        Assert.Equal(["name", "datatype", "shape", "data"], output.Select(p => p.Key));
        Assert.Equal("OUTPUT0", output["name"]!.GetValue<string>());
        Assert.Equal(type.WireName(), output["datatype"]!.GetValue<string>());
        Assert.Equal("[2,3]", output["shape"]!.ToJsonString());
        HttpInfer.AssertData(type, SimulatedTransform.Apply(type, raw), output["data"]);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Binary_tensors_of_every_datatype_round_trip(TensorDataType type)
    {
        byte[] raw = Tensors.RandomRaw(new Random(50 + (int)type), type, 8);
        string header = $$$"""
            {"inputs":[{"name":"INPUT0","datatype":"{{{type.WireName()}}}","shape":[2,4],"parameters":{"binary_data_size":{{{raw.Length}}}}}],
             "outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}
            """;
        var answer = await HttpInfer.InferAsync(Http, SimulationOptions.EchoModelName(type), HttpInfer.Binary(header, raw));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/octet-stream", answer.ContentType);
        Assert.NotNull(answer.HeaderLength);
        var output = Assert.Single(answer.Node["outputs"]!.AsArray())!.AsObject();
        Assert.Equal(["name", "datatype", "shape", "parameters"], output.Select(p => p.Key));
        Assert.Equal(raw.Length, output["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Equal(SimulatedTransform.Apply(type, raw), answer.Blobs()["OUTPUT0"]);
    }

    [Fact]
    public async Task Binary_data_output_makes_unlisted_outputs_binary()
    {
        byte[] raw = Tensors.RandomRaw(new Random(3), TensorDataType.Int32, 4);
        string header = $$$"""{"parameters":{"binary_data_output":true},"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"parameters":{"binary_data_size":{{{raw.Length}}}}}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(header, raw));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var json = answer.Node.AsObject();
        // binary_data_output is the front end's own: it is not passed on, so no parameters come back.
        Assert.Equal(["model_name", "model_version", "outputs"], json.Select(p => p.Key));
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int32, raw), answer.Blobs()["OUTPUT0"]);
    }

    [Fact]
    public async Task A_binary_request_may_ask_for_json_outputs()
    {
        byte[] raw = Tensors.RandomRaw(new Random(4), TensorDataType.UInt16, 3);
        string header = $$$"""{"inputs":[{"name":"INPUT0","datatype":"UINT16","shape":[1,3],"parameters":{"binary_data_size":{{{raw.Length}}}}}],"outputs":[{"name":"OUTPUT0"}]}""";
        var answer = await HttpInfer.InferAsync(Http, "echo_uint16", HttpInfer.Binary(header, raw));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Null(answer.HeaderLength);
        HttpInfer.AssertData(TensorDataType.UInt16, SimulatedTransform.Apply(TensorDataType.UInt16, raw), answer.Node["outputs"]![0]!["data"]);
    }

    [Fact]
    public async Task Nested_data_is_read_row_major_and_answered_flat()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_int64", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[2,3],"data":[[1,2,3],[4,5,-6]]}]}"""));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("[2,3,4,5,6,-5]", answer.Node["outputs"]![0]!["data"]!.ToJsonString());
    }

    [Fact]
    public async Task Bool_and_bytes_use_their_json_types()
    {
        var flags = await HttpInfer.InferAsync(Http, "echo_bool", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"BOOL","shape":[1,3],"data":[true,false,true]}]}"""));
        Assert.Equal("[false,true,false]", flags.Node["outputs"]![0]!["data"]!.ToJsonString());

        var strings = await HttpInfer.InferAsync(Http, "echo_bytes", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,3],"data":["abc","","x\"y\n\u0001"]}]}"""));
        Assert.Equal(HttpStatusCode.OK, strings.Status);
        Assert.Contains("\"data\":[\"cba\",\"\",\"\\u0001\\ny\\\"x\"]", strings.Json, StringComparison.Ordinal);
        Assert.Equal(["cba", "", "\u0001\ny\"x"], strings.Node["outputs"]![0]!["data"]!.AsArray().Select(s => s!.GetValue<string>()));
    }

    [Fact]
    public async Task Fp32_values_are_written_as_doubles()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_fp32", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1,0.25]}]}"""));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Contains("\"data\":[3.0,1.5]", answer.Json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_raw_binary_request_is_the_model_input_and_answers_binary()
    {
        byte[] raw = Tensors.RandomRaw(new Random(7), TensorDataType.Fp32, 5);
        var content = HttpInfer.Bytes(raw);
        content.Headers.Add("Inference-Header-Content-Length", "0");
        var answer = await HttpInfer.InferAsync(Http, "echo_fp32", content);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/octet-stream", answer.ContentType);
        var output = answer.Node["outputs"]![0]!;
        Assert.Equal("[1,5]", output["shape"]!.ToJsonString());
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, raw), answer.Blobs()["OUTPUT0"]);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Compressed_requests_are_inflated_and_answers_compressed_when_accepted(string coding)
    {
        byte[] raw = Tensors.RandomRaw(new Random(11), TensorDataType.Int8, 16);
        string header = $$$"""{"inputs":[{"name":"INPUT0","datatype":"INT8","shape":[2,8],"parameters":{"binary_data_size":{{{raw.Length}}}}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}""";
        byte[] plain = Encoding.UTF8.GetBytes(header).Concat(raw).ToArray();
        var content = HttpInfer.Bytes(Compress(plain, coding));
        content.Headers.ContentEncoding.Add(coding);
        content.Headers.Add("Inference-Header-Content-Length", Encoding.UTF8.GetByteCount(header).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var answer = await HttpInfer.SendAsync(Http, HttpMethod.Post, "/v2/models/echo_int8/infer", content,
            r => r.Headers.TryAddWithoutValidation("Accept-Encoding", coding));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(coding, answer.Message.Content.Headers.ContentEncoding.Single());
        byte[] body = Decompress(answer.Body, coding);
        var inflated = new HttpAnswer { Status = answer.Status, Message = answer.Message, Body = body };
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Int8, raw), inflated.Blobs()["OUTPUT0"]);
    }

    [Theory]
    [InlineData("gzip;q=0.5, deflate;q=0.8", "deflate")]
    [InlineData("deflate;q=0.2,gzip", "gzip")]
    [InlineData("gzip;q=0", null)]
    [InlineData("br", null)]
    [InlineData("identity, gzip", null)]
    [InlineData("gzip; q=0.9", null)]
    [InlineData("*", null)]
    public async Task Answer_compression_follows_accept_encoding_q_values(string accept, string? expected)
    {
        var answer = await HttpInfer.SendAsync(Http, HttpMethod.Post, "/v2/models/echo_uint8/infer",
            HttpInfer.Json("""{"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[1,2],"data":[1,2]}]}"""),
            r => r.Headers.TryAddWithoutValidation("Accept-Encoding", accept));

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var encodings = answer.Message.Content.Headers.ContentEncoding;
        if (expected == null)
        {
            Assert.Empty(encodings);
            Assert.Equal("[2,3]", answer.Node["outputs"]![0]!["data"]!.ToJsonString());
        }
        else
        {
            Assert.Equal(expected, encodings.Single());
            string json = Encoding.UTF8.GetString(Decompress(answer.Body, expected));
            Assert.Equal("[2,3]", JsonNode.Parse(json)!["outputs"]![0]!["data"]!.ToJsonString());
        }
    }

    [Fact]
    public async Task Errors_are_never_compressed()
    {
        var answer = await HttpInfer.SendAsync(Http, HttpMethod.Post, "/v2/models/nope/infer", HttpInfer.Json("{}"),
            r => r.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip"));
        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Empty(answer.Message.Content.Headers.ContentEncoding);
        Assert.Equal("Request for unknown model: 'nope' is not found", answer.Error);
    }

    [Fact]
    public async Task A_decoupled_model_is_501_with_triton_text()
    {
        var answer = await HttpInfer.InferAsync(Http, "llm", HttpInfer.Json(
            """{"inputs":[{"name":"text_input","datatype":"BYTES","shape":[1],"data":["hi"]}]}"""));
        Assert.Equal(HttpStatusCode.NotImplemented, answer.Status);
        Assert.Equal("HTTP end point doesn't support models with decoupled transaction policy", answer.Error);
    }

    [Fact]
    public async Task Request_parameters_of_every_kind_are_accepted()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json("""
            {"id":"p","parameters":{"priority":1,"timeout":5000000,"custom_s":"x","custom_i":-3,"custom_b":true,"custom_d":0.5},
             "inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,1],"data":[41]}]}
            """));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("[42]", answer.Node["outputs"]![0]!["data"]!.ToJsonString());
    }

    [Fact]
    public async Task A_versioned_infer_path_reaches_the_model()
    {
        var answer = await HttpInfer.SendAsync(Http, HttpMethod.Post, "/v2/models/echo_int32/versions/1/infer?x=y", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,1],"data":[1]}]}"""));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("1", answer.Node["model_version"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_chunked_json_body_is_read_to_its_end()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[5,6]}]}"""));
        var content = new StreamContent(stream);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var answer = await HttpInfer.SendAsync(Http, HttpMethod.Post, "/v2/models/echo_int32/infer", content,
            r => r.Headers.TransferEncodingChunked = true);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("[6,7]", answer.Node["outputs"]![0]!["data"]!.ToJsonString());
    }

    [Fact]
    public async Task Zero_element_inputs_need_no_data()
    {
        var answer = await HttpInfer.InferAsync(Http, "echo_fp64", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"FP64","shape":[1,0],"data":"ignored"}]}"""));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("[]", answer.Node["outputs"]![0]!["data"]!.ToJsonString());
    }

    internal static byte[] Compress(byte[] data, string coding)
    {
        using var output = new MemoryStream();
        using (Stream z = coding == "gzip" ? new GZipStream(output, CompressionLevel.Fastest) : new ZLibStream(output, CompressionLevel.Fastest))
        {
            z.Write(data);
        }

        return output.ToArray();
    }

    internal static byte[] Decompress(byte[] data, string coding)
    {
        using var input = new MemoryStream(data);
        using Stream z = coding == "gzip" ? new GZipStream(input, CompressionMode.Decompress) : new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        z.CopyTo(output);
        return output.ToArray();
    }
}
