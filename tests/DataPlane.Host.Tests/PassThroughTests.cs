using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Host.Tests;

/// <summary>A request that goes upstream alone is relayed as the bytes the client sent (the Batching and Protocol
/// tests compare the bytes): through the real daemon and simulated Triton, a request encoded as Google.Protobuf would
/// not encode it (raw contents first, an unknown field) is answered as its canonical twin is, with the client's id;
/// malformed bytes are still INVALID_ARGUMENT.</summary>
public class PassThroughTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private static readonly Method<byte[], byte[]> s_rawInfer = new(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    private DaemonHarness H => fixture.Harness;

    private async Task<byte[]> SendAsync(byte[] payload) =>
        await H.Channel.CreateCallInvoker().AsyncUnaryCall(s_rawInfer, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), payload);

    [Fact]
    public async Task A_request_encoded_unusually_is_answered_as_its_canonical_twin_with_the_clients_id()
    {
        var request = Tensors.Simple(2, 0.25f, id: "twin-1");
        var canonical = await H.Client.ModelInferAsync(request);

        var rest = request.Clone();
        rest.RawInputContents.Clear();
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        foreach (var raw in request.RawInputContents)
        {
            output.WriteTag(ModelInferRequest.RawInputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(raw);
        }

        output.WriteRawMessage(rest);
        output.WriteTag(99, WireFormat.WireType.Varint);
        output.WriteUInt64(7);
        output.Flush();
        byte[] unusual = stream.ToArray();
        Assert.NotEqual(request.ToByteArray(), unusual);

        var answer = ModelInferResponse.Parser.ParseFrom(await SendAsync(unusual));
        Assert.Equal("twin-1", answer.Id);
        Assert.Equal(canonical, answer);
    }

    [Fact]
    public async Task Malformed_bytes_are_invalid_argument()
    {
        byte[] good = Tensors.Simple(1, 1f).ToByteArray();
        var e = await Assert.ThrowsAsync<RpcException>(() => SendAsync(good[..^3]));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("malformed ModelInferRequest: ", e.Status.Detail, StringComparison.Ordinal);
    }
}
