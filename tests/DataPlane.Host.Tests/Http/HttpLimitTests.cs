using System.Net;
using System.Text;
using DataPlane.Host.Tests.Infrastructure;

namespace DataPlane.Host.Tests.Http;

/// <summary><c>Limits:HttpMaxInputBytes</c> (Triton's <c>--http-max-input-size</c>) bounds the JSON, each JSON input,
/// raw bodies and decompressed bodies, with Triton's texts naming the setting; binary tensors are not bounded by it.</summary>
public sealed class HttpLimitTests : IAsyncLifetime
{
    private const string Advice = "Use Limits:HttpMaxInputBytes to increase the limit.";

    private DaemonHarness _harness = null!;

    private HttpClient Http => _harness.Http;

    public async Task InitializeAsync() =>
        _harness = await DaemonHarness.StartAsync(new Dictionary<string, string?> { ["Limits:HttpMaxInputBytes"] = "256" });

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Limits_apply_with_triton_texts_and_binary_tensors_pass()
    {
        string padded = """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,1],"data":[1]}]}""".PadRight(300);
        var json = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json(padded));
        Assert.Equal(HttpStatusCode.BadRequest, json.Status);
        Assert.Equal($"request JSON size of 300 bytes exceeds the maximum allowed input size of 256 bytes. {Advice}", json.Error);

        var data = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,100],"data":[1]}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, data.Status);
        Assert.Equal($"JSON input 'INPUT0' has a byte_size (400 bytes) that exceeds the maximum allowed value of 256 bytes. {Advice}", data.Error);

        var rawContent = HttpInfer.Bytes(new byte[300]);
        rawContent.Headers.Add("Inference-Header-Content-Length", "0");
        var raw = await HttpInfer.InferAsync(Http, "echo_int32", rawContent);
        Assert.Equal(HttpStatusCode.BadRequest, raw.Status);
        Assert.Equal($"Raw input has a byte_size (300 bytes) that exceeds the maximum allowed value of 256 bytes. {Advice}", raw.Error);

        var compressed = HttpInfer.Bytes(HttpInferTests.Compress(Encoding.UTF8.GetBytes(padded), "gzip"), "application/json");
        compressed.Headers.ContentEncoding.Add("gzip");
        var inflated = await HttpInfer.InferAsync(Http, "echo_int32", compressed);
        Assert.Equal(HttpStatusCode.BadRequest, inflated.Status);
        Assert.Equal($"Decompressed data size exceeds the maximum allowed value of 256 bytes. {Advice}", inflated.Error);

        var control = await HttpInfer.PostAsync(Http, "/v2/repository/index", "{}".PadRight(257));
        Assert.Equal(HttpStatusCode.BadRequest, control.Status);
        Assert.Equal($"request JSON size of 257 bytes exceeds the maximum allowed input size of 256 bytes. {Advice}", control.Error);

        byte[] tensor = Tensors.RandomRaw(new Random(1), DataPlane.Protocol.Tensors.TensorDataType.Int32, 256);
        var binary = await HttpInfer.InferAsync(Http, "echo_int32", HttpInfer.Binary(
            """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,256],"parameters":{"binary_data_size":1024}}]}""", tensor));
        Assert.Equal(HttpStatusCode.OK, binary.Status);
        Assert.Equal(256, binary.Node["outputs"]![0]!["data"]!.AsArray().Count);
    }
}
