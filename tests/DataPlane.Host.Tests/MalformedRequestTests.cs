using System.Buffers.Binary;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

public sealed class SmallLimitsFixture : IAsyncLifetime
{
    public DaemonHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await DaemonHarness.StartAsync(new Dictionary<string, string?>
    {
        ["Limits:MaxMessageBytes"] = "1048576",
        ["Limits:MaxTensorElements"] = "100000",
    });

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>Bad requests get the right status and a message naming the field and the numbers,
/// and the daemon keeps serving.</summary>
public class MalformedRequestTests(SmallLimitsFixture fixture) : IClassFixture<SmallLimitsFixture>
{
    private static ModelInferRequest Simple(Action<ModelInferRequest> change)
    {
        var r = Tensors.Simple(2, 0.5f);
        change(r);
        return r;
    }

    private static ModelInferRequest Echo(TensorDataType type, long[] shape, byte[] raw, Action<ModelInferRequest>? change = null)
    {
        var r = Tensors.Raw($"echo_{type.WireName().ToLowerInvariant()}", type, shape, raw);
        change?.Invoke(r);
        return r;
    }

    private static ModelInferRequest Typed(TensorDataType type, long[] shape, Action<InferTensorContents> fill)
    {
        var r = new ModelInferRequest { ModelName = $"echo_{type.WireName().ToLowerInvariant()}" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = type.WireName() };
        input.Shape.Add(shape);
        input.Contents = new InferTensorContents();
        fill(input.Contents);
        r.Inputs.Add(input);
        return r;
    }

    private static byte[] BytesWithLength(uint declared, int actual)
    {
        var b = new byte[4 + actual];
        BinaryPrimitives.WriteUInt32LittleEndian(b, declared);
        return b;
    }

    public static TheoryData<string, ModelInferRequest, StatusCode, string> Cases() => new()
    {
        { "empty model name", Simple(r => r.ModelName = ""), StatusCode.NotFound, "Request for unknown model: '' is not found" },
        { "unknown model", Simple(r => r.ModelName = "resnet"), StatusCode.NotFound, "Request for unknown model: 'resnet' is not found" },
        { "long model name is cut", Simple(r => r.ModelName = new string('m', 5000)), StatusCode.NotFound,
            $"Request for unknown model: '{new string('m', 256)}…' is not found" },
        { "unknown version", Simple(r => r.ModelVersion = "9"), StatusCode.NotFound, "Request for unknown model: 'simple' version 9 is not found" },
        { "version not a number", Simple(r => r.ModelVersion = "v1"), StatusCode.InvalidArgument,
            "failed to get model version from specified version string 'v1'" },
        { "no inputs", new ModelInferRequest { ModelName = "simple" }, StatusCode.InvalidArgument, "request has no inputs" },
        { "unknown datatype", Simple(r => r.Inputs[0].Datatype = "FLOAT32"), StatusCode.InvalidArgument, "input 'INPUT0': unknown datatype 'FLOAT32'; expected one of BOOL" },
        { "negative dimension", Simple(r => r.Inputs[0].Shape[1] = -16), StatusCode.InvalidArgument, "input 'INPUT0': shape [2,-16] has negative dimension -16 at index 1" },
        { "raw size", Simple(r => r.RawInputContents[0] = ByteString.CopyFrom(new byte[100])), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 128, got 100" },
        { "raw entry missing", Simple(r => { r.Inputs.Add(r.Inputs[0].Clone()); r.Inputs[1].Name = "INPUT1"; }), StatusCode.InvalidArgument,
            "unable to find data for input tensor 'INPUT1' for model 'simple' in request." },
        { "raw and typed mixed", Simple(r => r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1f } }), StatusCode.InvalidArgument,
            "contents field must not be specified when using raw_input_contents for 'INPUT0' for model 'simple'" },
        { "duplicate input", Simple(r => { r.Inputs.Add(r.Inputs[0].Clone()); r.RawInputContents.Add(r.RawInputContents[0]); }), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] input 'INPUT0' already exists in request" },
        { "unnamed input", Simple(r => r.Inputs[0].Name = ""), StatusCode.InvalidArgument, "input 0 has no name" },
        { "wrong datatype", Simple(r => r.Inputs[0].Datatype = "INT32"), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] inference input 'INPUT0' data-type is 'INT32', but model 'simple' expects 'FP32'" },
        { "wrong dims", Echo(TensorDataType.Fp32, [2, 8], new byte[64], r => r.ModelName = "simple"), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [2,8]. NOTE: Setting a non-zero max_batch_size" },
        { "batch too large", Tensors.Simple(33, 1), StatusCode.InvalidArgument, "[request id: <id_unknown>] inference request batch-size must be <= 32 for 'simple'" },
        { "batch of zero", Simple(r => { r.Inputs[0].Shape[0] = 0; r.RawInputContents[0] = ByteString.Empty; }), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] inference request batch-size must be >= 1 for 'simple'" },
        { "missing batch dimension", Simple(r => { r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add(32); }), StatusCode.InvalidArgument,
            "[request id: <id_unknown>] unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [32]." },
        { "unknown input", Simple(r => r.Inputs[0].Name = "IMAGE"), StatusCode.InvalidArgument, "unexpected inference input 'IMAGE' for model 'simple'" },
        { "unknown output", Simple(r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "PROBS" })), StatusCode.InvalidArgument,
            "unexpected inference output 'PROBS' for model 'simple'" },
        { "output twice", Simple(r => { r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" }); r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" }); }),
            StatusCode.InvalidArgument, "[request id: <id_unknown>] output 'OUTPUT0' already exists in request" },
        { "BYTES length past the buffer", Echo(TensorDataType.Bytes, [1, 1], BytesWithLength(50, 10)), StatusCode.InvalidArgument,
            "input 'INPUT0': BYTES element 0 declares length 50 but only 10 bytes remain in the buffer of 14 bytes" },
        { "BYTES trailing bytes", Echo(TensorDataType.Bytes, [1, 1], [.. BytesTensor.Encode("ab"), 7, 7]), StatusCode.InvalidArgument,
            "input 'INPUT0': BYTES buffer has 2 bytes after the last of its 1 elements (8 bytes in all)" },
        { "BYTES truncated prefix", Echo(TensorDataType.Bytes, [1, 2], [.. BytesTensor.Encode("ab"), 1]), StatusCode.InvalidArgument,
            "ends inside the length prefix of element 1" },
        { "BOOL not 0 or 1", Echo(TensorDataType.Bool, [1, 3], [0, 1, 2]), StatusCode.InvalidArgument, "input 'INPUT0': BOOL element 2 is 2; only 0 and 1 are allowed" },
        { "typed wrong field", Typed(TensorDataType.Int64, [1, 1], c => c.IntContents.Add(5)), StatusCode.InvalidArgument,
            "input 'INPUT0': datatype INT64 belongs in int64_contents, but int_contents has 1 values" },
        { "typed count", Typed(TensorDataType.Fp64, [1, 3], c => c.Fp64Contents.Add([1, 2])), StatusCode.InvalidArgument,
            "input 'INPUT0': fp64_contents has 2 values but the shape needs 3" },
        { "typed out of range", Typed(TensorDataType.Int8, [1, 1], c => c.IntContents.Add(300)), StatusCode.InvalidArgument,
            "input 'INPUT0': value 300 at index 0 is outside the range of INT8 (-128..127)" },
        { "FP16 typed", Typed(TensorDataType.Fp16, [1, 1], c => c.Fp32Contents.Add(1)), StatusCode.InvalidArgument,
            "input 'INPUT0': datatype FP16 has no typed contents field; send it in raw_input_contents" },
        { "no data", Echo(TensorDataType.Int16, [1, 2], [], r => r.RawInputContents.Clear()), StatusCode.InvalidArgument,
            "input 'INPUT0': no data; shape [1,2] needs 2 elements in int_contents or in raw_input_contents" },
        { "negative priority", Simple(r => r.Parameters["priority"] = new InferParameter { Int64Param = -5 }), StatusCode.InvalidArgument,
            "invalid value for 'priority', expected value >= 0." },
        { "priority of the wrong type", Simple(r => r.Parameters["priority"] = new InferParameter { StringParam = "high" }), StatusCode.InvalidArgument,
            "invalid value type for 'priority' parameter, expected int64_param or uint64_param." },
        { "timeout of the wrong type", Simple(r => r.Parameters["timeout"] = new InferParameter { Uint64Param = 5 }), StatusCode.InvalidArgument,
            "invalid value type for 'timeout' parameter, expected int64_param." },
        { "negative timeout", Simple(r => r.Parameters["timeout"] = new InferParameter { Int64Param = -1 }), StatusCode.InvalidArgument,
            "invalid value for 'timeout', expected value >= 0" },
        { "decoupled model through ModelInfer", Echo(TensorDataType.Bytes, [1], BytesTensor.Encode("hi"), r => { r.ModelName = "llm"; r.Inputs[0].Name = "text_input"; r.Inputs[0].Shape.Clear(); r.Inputs[0].Shape.Add(1); }),
            StatusCode.Unimplemented, "ModelInfer RPC doesn't support models with decoupled transaction policy" },
        { "sequence id of the wrong type", Simple(r => r.Parameters["sequence_id"] = new InferParameter { Uint64Param = 5 }), StatusCode.InvalidArgument,
            "invalid value type for 'sequence_id' parameter, expected int64_param or string_param." },
        { "shared-memory input in an unknown region", Simple(r =>
            {
                r.RawInputContents.Clear();
                r.Inputs[0].Parameters["shared_memory_region"] = new InferParameter { StringParam = "nowhere" };
                r.Inputs[0].Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 128 };
            }), StatusCode.NotFound, "Unable to find shared memory region: 'nowhere'" },
        { "shared-memory output without its size", Simple(r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor
            {
                Name = "OUTPUT0", Parameters = { ["shared_memory_region"] = new InferParameter { StringParam = "r" } },
            })), StatusCode.InvalidArgument, "'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'OUTPUT0'" },
        { "too many elements", Echo(TensorDataType.UInt8, [1, 100001], new byte[100001]), StatusCode.InvalidArgument,
            "input 'INPUT0': shape [1,100001] has 100001 elements, more than the limit of 100000" },
        { "message too large", Echo(TensorDataType.UInt8, [1, 90000], new byte[90000], r => r.Id = new string('x', 1 << 20)), StatusCode.ResourceExhausted,
            "Received message exceeds the maximum configured message size" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Is_answered_with_the_right_status_and_message(string what, ModelInferRequest request, StatusCode code, string message)
    {
        var client = fixture.Harness.Client;
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(request).ResponseAsync);
        Assert.True(e.StatusCode == code, $"{what}: expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        Assert.Contains(message, e.Status.Detail);

        // The daemon keeps serving.
        var ok = await client.ModelInferAsync(Tensors.Simple(1, 3));
        Assert.Single(ok.Outputs);
    }

    [Fact]
    public async Task Invalid_requests_are_counted()
    {
        var client = fixture.Harness.Client;
        await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(Simple(r => r.Inputs[0].Datatype = "INT32")).ResponseAsync);
        string metrics = await fixture.Harness.MetricsTextAsync();
        Assert.Contains("dataplane_rejections_total{model=\"simple\",reason=\"invalid\"}", metrics);
        Assert.Contains("dataplane_requests_total{model=\"simple\",outcome=\"invalid_argument\"}", metrics);
    }
}
