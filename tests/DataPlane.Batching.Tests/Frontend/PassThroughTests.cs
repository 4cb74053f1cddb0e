using System.Runtime.InteropServices;
using DataPlane.Batching.Frontend;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Tests.Streaming;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using DataPlane.Protocol.SharedMemory;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Batching.Tests.Frontend;

/// <summary>A request that goes upstream alone is relayed as the bytes it arrived as, and Triton's answer reaches the
/// client as the bytes Triton sent (with the client's id, which Triton echoes); a batch of several requests is built
/// and serialized, and each answer is built with its request's id. Runs the front end, the real registry and batcher,
/// and <see cref="TritonUpstream"/>'s marshallers against an in-memory Triton that sees and answers bytes.</summary>
public sealed class PassThroughTests : IAsyncLifetime
{
    private readonly InMemoryTriton _triton = new();
    private readonly List<byte[]> _sent = [];
    private readonly List<byte[]> _answered = [];
    private readonly Prometheus.CollectorRegistry _prometheus = Prometheus.Metrics.NewCustomRegistry();
    private TritonUpstream _upstream = null!;
    private ModelRegistry _registry = null!;
    private InferenceServer _server = null!;

    public PassThroughTests() => _triton.Infer = Answer;

    /// <summary>Set per test: the batcher's settings of every model.</summary>
    private ModelBatchingOptions Batching { get; set; } = new() { Policy = BatchPolicyKind.None };

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync()
    {
        _upstream = new TritonUpstream(new UpstreamOptions { Address = "http://triton.test:8001" }, NullLogger.Instance, _prometheus, _triton);
        _registry = new ModelRegistry(_upstream, new BatchingOptions { Defaults = Batching }, new BatchingMetrics(_prometheus), NullLoggerFactory.Instance);
        Assert.True(await _registry.ProbeAsync(CancellationToken.None));
        _server = new InferenceServer(_registry, new ServingState(), new SharedMemoryRegions(), new FrontendOptions());
    }

    public Task DisposeAsync()
    {
        _registry?.Dispose();
        _upstream?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Triton's answer to the bytes it got: OUTPUT0 = INPUT0 + 1, with the request's id; the raw contents first,
    /// which Google.Protobuf would write last.</summary>
    private byte[] Answer(byte[] sent)
    {
        var request = ModelInferRequest.Parser.ParseFrom(sent);
        var values = MemoryMarshal.Cast<byte, int>(request.RawInputContents[0].Span).ToArray().Select(v => v + 1).ToArray();
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(ModelInferResponse.RawOutputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())));
        output.WriteTag(ModelInferResponse.ModelNameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(request.ModelName);
        output.WriteTag(ModelInferResponse.ModelVersionFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("1");
        output.WriteTag(ModelInferResponse.IdFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(request.Id);
        output.WriteTag(ModelInferResponse.OutputsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(new ModelInferResponse.Types.InferOutputTensor { Name = "OUTPUT0", Datatype = "INT32", Shape = { request.Inputs[0].Shape } });
        output.Flush();
        byte[] answer = stream.ToArray();
        lock (_sent)
        {
            _sent.Add(sent);
            _answered.Add(answer);
        }

        return answer;
    }

    /// <summary>A client's request for <c>echo</c> as a client may encode it but Google.Protobuf would not: the raw
    /// contents before the other fields.</summary>
    private static byte[] ClientBytes(string id, int value)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(ModelInferRequest.RawInputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(BitConverter.GetBytes(value)));
        output.WriteTag(ModelInferRequest.IdFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(id);
        output.WriteTag(ModelInferRequest.InputsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1, 1 } });
        output.WriteTag(ModelInferRequest.ModelNameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("echo");
        output.Flush();
        byte[] bytes = stream.ToArray();
        Assert.NotEqual(bytes, ModelInferRequest.Parser.ParseFrom(bytes).ToByteArray());
        return bytes;
    }

    /// <summary>The request as the gRPC server reads it (<see cref="InferMarshallers.ServerMethod"/>).</summary>
    private static ModelInferRequest Received(byte[] bytes) =>
        InferMarshallers.ServerMethod(new MalformedMessages(NullLogger.Instance, null, TimeSpan.FromSeconds(10)))
            .RequestMarshaller.ContextualDeserializer(new ReceivedPayload(bytes));

    /// <summary>What the gRPC server writes to the client for <paramref name="response"/>.</summary>
    private static byte[] Written(ModelInferResponse response)
    {
        var written = new WrittenPayload();
        InferMarshallers.Response.ContextualSerializer(response, written);
        return written.Bytes;
    }

    private static int Value(ModelInferResponse response) => BitConverter.ToInt32(response.RawOutputContents[0].Span);

    [Fact]
    public async Task A_request_alone_goes_upstream_as_the_bytes_the_client_sent_and_the_answer_comes_back_as_Tritons_bytes()
    {
        await StartAsync();
        byte[] sent = ClientBytes("client-7", 41);

        var response = await _server.InferAsync(Received(sent), DateTime.MaxValue, CancellationToken.None);

        Assert.Equal(sent, Assert.Single(_sent));
        Assert.Equal("client-7", response.Id);
        Assert.Equal(42, Value(response));
        Assert.Equal(_answered[0], Written(response));
        Assert.True(MemoryMarshal.TryGetArray(response.RawOutputContents[0].Memory, out var backing));
        Assert.Same(response.ReceivedPayload, backing.Array);
    }

    [Fact]
    public async Task Requests_batched_together_go_upstream_as_one_built_request_and_each_answer_is_built_with_its_id()
    {
        Batching = new ModelBatchingOptions
        {
            Policy = BatchPolicyKind.Fixed,
            PreferredBatchSizes = [2],
            MaxQueueDelay = TimeSpan.FromMinutes(1),
            MaxQueueTime = TimeSpan.FromMinutes(1),
        };
        await StartAsync();

        var first = _server.InferAsync(Received(ClientBytes("a", 10)), DateTime.MaxValue, CancellationToken.None);
        var second = _server.InferAsync(Received(ClientBytes("b", 20)), DateTime.MaxValue, CancellationToken.None);
        var answers = await Task.WhenAll(first, second);

        var batch = ModelInferRequest.Parser.ParseFrom(Assert.Single(_sent));
        Assert.Equal(batch.ToByteArray(), _sent[0]); // serialized from its fields, not relayed
        Assert.Equal([2L, 1L], batch.Inputs[0].Shape);
        Assert.Equal([10, 20], MemoryMarshal.Cast<byte, int>(batch.RawInputContents[0].Span).ToArray());

        Assert.Equal(["a", "b"], answers.Select(a => a.Id));
        Assert.Equal([11, 21], answers.Select(Value));
        foreach (var answer in answers)
        {
            Assert.Null(answer.ReceivedPayload);
            Assert.Equal([1L, 1L], answer.Outputs[0].Shape);
            Assert.Equal(answer.ToByteArray(), Written(answer));
        }
    }

    [Fact]
    public async Task Each_stage_of_a_successful_request_is_recorded_once()
    {
        await StartAsync();
        await _server.InferAsync(Received(ClientBytes("s", 1)), DateTime.MaxValue, CancellationToken.None);

        using var text = new MemoryStream();
        await _prometheus.CollectAndExportAsTextAsync(text);
        string metrics = System.Text.Encoding.UTF8.GetString(text.ToArray());
        foreach (string stage in new[] { "decode", "dispatch", "validate", "queue", "upstream", "reply" })
        {
            Assert.Contains($"dataplane_request_stage_seconds_count{{model=\"echo\",stage=\"{stage}\"}} 1", metrics);
        }
    }
}
