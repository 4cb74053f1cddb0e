using System.Text;
using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Bench.Tests;

/// <summary>The bench's HTTP encoding: Triton's binary tensor data extension, as tritonclient.http sends it.</summary>
public class HttpInferenceTests
{
    [Fact]
    public void Requests_are_a_json_header_naming_binary_sizes_followed_by_the_raw_bytes()
    {
        var request = new ModelInferRequest { ModelName = "m", Id = "7" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "A", Datatype = "INT32", Shape = { 1, 2 } });
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "B", Datatype = "BYTES", Shape = { 1 } });
        request.RawInputContents.Add(ByteString.CopyFrom(1, 0, 0, 0, 2, 0, 0, 0));
        request.RawInputContents.Add(ByteString.CopyFrom(2, 0, 0, 0, (byte)'h', (byte)'i'));

        var body = HttpInference.Encode(request);
        string json = Encoding.UTF8.GetString(body.Bytes, 0, body.JsonLength);
        Assert.Equal("""{"id":"7","inputs":[{"name":"A","datatype":"INT32","shape":[1,2],"parameters":{"binary_data_size":8}},""" +
            """{"name":"B","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}],"parameters":{"binary_data_output":true}}""", json);
        Assert.Equal(body.JsonLength + 14, body.Bytes.Length);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, (byte)'h', (byte)'i' }, body.Bytes[body.JsonLength..]);
    }

    [Fact]
    public void Metadata_json_is_read_and_unknown_keys_are_skipped()
    {
        var m = HttpInference.ReadMetadata("""
            {"name":"simple","versions":["1"],"platform":"simulation",
             "inputs":[{"name":"INPUT0","datatype":"FP32","shape":[-1,16]}],
             "outputs":[{"name":"OUTPUT0","datatype":"FP32","shape":[-1,16],"extra":{"x":[1,2]}}]}
            """u8);
        Assert.Equal("simple", m.Name);
        Assert.Equal("simulation", m.Platform);
        Assert.Equal([-1L, 16], Assert.Single(m.Inputs).Shape);
        Assert.Equal("OUTPUT0", Assert.Single(m.Outputs).Name);
    }

    [Theory]
    [InlineData(200, StatusCode.OK)]
    [InlineData(400, StatusCode.InvalidArgument)]
    [InlineData(404, StatusCode.NotFound)]
    [InlineData(501, StatusCode.Unimplemented)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(418, StatusCode.Unknown)]
    public void Http_statuses_count_as_the_grpc_codes_triton_maps_them_from(int status, StatusCode code) =>
        Assert.Equal(code, HttpInference.FromHttp(status));

    [Fact]
    public void The_protocol_option_is_parsed()
    {
        Assert.Equal(WireProtocol.Http, BenchArguments.Parse(["--protocol", "http"]).Settings!.Protocol);
        Assert.Equal(WireProtocol.Grpc, BenchArguments.Parse([]).Settings!.Protocol);
        Assert.Equal("option --protocol: 'rest' is not one of grpc, http", BenchArguments.Parse(["--protocol=rest"]).Error);
    }
}
