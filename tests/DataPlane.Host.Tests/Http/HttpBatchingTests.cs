using System.Buffers.Binary;
using System.Net;
using System.Text.Json.Nodes;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation;

namespace DataPlane.Host.Tests.Http;

/// <summary>HTTP requests enter the same batchers as gRPC ones: requests of both protocols share one upstream batch and
/// each gets its own answer in its own protocol.</summary>
public class HttpBatchingTests
{
    [Fact]
    public async Task Http_json_http_binary_and_grpc_requests_share_a_batch()
    {
        // A batch leaves only when three rows are queued, so the three requests must share it (none lists its outputs:
        // requests asking for different outputs never share a batch).
        await using var h = await DaemonHarness.StartAsync(new Dictionary<string, string?>
        {
            ["Batching:Models:simple:Policy"] = "fixed",
            ["Batching:Models:simple:PreferredBatchSizes"] = "3",
            ["Batching:Models:simple:MaxQueueDelayMs"] = "60000",
        });
        byte[] jsonRaw = Values(1);
        byte[] binaryRaw = Values(2);
        var grpcRequest = Tensors.Simple(1, 3, id: "grpc");
        byte[] grpcRaw = grpcRequest.RawInputContents[0].ToByteArray();

        var json = new JsonObject
        {
            ["id"] = "json",
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "INPUT0",
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 16),
                ["data"] = HttpInfer.ToJson(TensorDataType.Fp32, jsonRaw),
            }),
        };
        var jsonTask = HttpInfer.InferAsync(h.Http, "simple", HttpInfer.Json(HttpInfer.Serialize(json)));
        var binaryTask = HttpInfer.InferAsync(h.Http, "simple", HttpInfer.Binary(
            """{"id":"binary","parameters":{"binary_data_output":true},"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"parameters":{"binary_data_size":64}}]}""",
            binaryRaw));
        var grpcTask = h.Client.ModelInferAsync(grpcRequest).ResponseAsync;
        await Task.WhenAll(jsonTask, binaryTask, grpcTask);

        var jsonAnswer = await jsonTask;
        Assert.Equal(HttpStatusCode.OK, jsonAnswer.Status);
        Assert.Equal("json", jsonAnswer.Node["id"]!.GetValue<string>());
        HttpInfer.AssertData(TensorDataType.Fp32, SimulatedTransform.Apply(TensorDataType.Fp32, jsonRaw), jsonAnswer.Node["outputs"]![0]!["data"]);

        var binaryAnswer = await binaryTask;
        Assert.Equal(HttpStatusCode.OK, binaryAnswer.Status);
        Assert.Equal("binary", binaryAnswer.Node["id"]!.GetValue<string>());
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, binaryRaw), binaryAnswer.Blobs()["OUTPUT0"]);

        var grpcAnswer = await grpcTask;
        Assert.Equal("grpc", grpcAnswer.Id);
        Assert.Equal(SimulatedTransform.Apply(TensorDataType.Fp32, grpcRaw), Tensors.Output0(grpcAnswer));

        var stats = (await h.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "simple" })).ModelStats[0];
        Assert.Contains(stats.BatchStats, b => b.BatchSize >= 3);
        Assert.Equal(3UL, stats.InferenceCount);
    }

    /// <summary>16 FP32 values that JSON carries exactly.</summary>
    private static byte[] Values(int seed)
    {
        var raw = new byte[64];
        for (int i = 0; i < 16; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), (seed * 100) + (i * 0.5f));
        }

        return raw;
    }
}
