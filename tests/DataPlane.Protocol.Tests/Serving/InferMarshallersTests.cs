using System.Buffers;
using System.Runtime.InteropServices;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Protocol.Tests.Serving;

/// <summary><see cref="InferMarshallers"/> and <see cref="AliasingParser"/>: a ModelInfer request or response read from
/// its bytes equals what the generated parser reads, its raw contents alias the received array, and it is written back
/// as exactly the bytes it arrived as, also when those are not what Google.Protobuf would write (fields out of order,
/// an unpacked shape, an unknown field); malformed bytes fail with the generated parser's own error.</summary>
public class InferMarshallersTests
{
    /// <summary>Received bytes, split over several buffers as the transport may hand them over.</summary>
    private sealed class Payload(byte[] bytes, int chunk = int.MaxValue) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])bytes.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence()
        {
            if (bytes.Length <= chunk)
            {
                return new ReadOnlySequence<byte>(bytes);
            }

            var first = new Chunk(bytes.AsMemory(0, chunk), 0);
            var last = first;
            for (int at = chunk; at < bytes.Length; at += chunk)
            {
                last = last.Append(bytes.AsMemory(at, Math.Min(chunk, bytes.Length - at)));
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }

        private sealed class Chunk : ReadOnlySequenceSegment<byte>
        {
            public Chunk(ReadOnlyMemory<byte> memory, long index)
            {
                Memory = memory;
                RunningIndex = index;
            }

            public Chunk Append(ReadOnlyMemory<byte> memory)
            {
                var next = new Chunk(memory, RunningIndex + Memory.Length);
                Next = next;
                return next;
            }
        }
    }

    /// <summary>What a marshaller writes to the transport.</summary>
    private sealed class Written : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();
        private int _declared = -1;

        public byte[] Bytes { get; private set; } = [];

        public override void Complete(byte[] payload) => Bytes = payload;

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void SetPayloadLength(int payloadLength) => _declared = payloadLength;

        public override void Complete()
        {
            Bytes = _buffer.WrittenSpan.ToArray();
            Assert.Equal(_declared, Bytes.Length);
        }
    }

    private static byte[] Write<T>(Marshaller<T> marshaller, T message)
    {
        var written = new Written();
        marshaller.ContextualSerializer(message, written);
        return written.Bytes;
    }

    private static byte[] Tensor(int seed, int length) => Enumerable.Range(0, length).Select(i => (byte)(seed + i)).ToArray();

    /// <summary>A request as a client might encode it but Google.Protobuf would not: raw contents first and between the
    /// other fields, the shape of the second input unpacked, an unknown field (99) kept as such.</summary>
    private static byte[] UnusualRequest()
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(ModelInferRequest.RawInputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Tensor(1, 16)));
        output.WriteTag(ModelInferRequest.ModelNameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("simple");
        var first = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1, 4 } };
        output.WriteTag(ModelInferRequest.InputsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(first);
        output.WriteTag(ModelInferRequest.RawInputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Tensor(100, 16)));

        using var input = new MemoryStream();
        var tensor = new CodedOutputStream(input);
        tensor.WriteTag(1, WireFormat.WireType.LengthDelimited);
        tensor.WriteString("INPUT1");
        tensor.WriteTag(2, WireFormat.WireType.LengthDelimited);
        tensor.WriteString("INT32");
        tensor.WriteTag(3, WireFormat.WireType.Varint); // unpacked: one tag per dimension
        tensor.WriteInt64(1);
        tensor.WriteTag(3, WireFormat.WireType.Varint);
        tensor.WriteInt64(4);
        tensor.Flush();
        output.WriteTag(ModelInferRequest.InputsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(input.ToArray()));

        output.WriteTag(99, WireFormat.WireType.Varint);
        output.WriteUInt64(12345);
        output.WriteTag(ModelInferRequest.IdFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("client-7");
        output.Flush();
        return stream.ToArray();
    }

    private static void AssertAliases(ByteString entry, byte[] array)
    {
        Assert.True(MemoryMarshal.TryGetArray(entry.Memory, out var segment), "the entry is not backed by an array");
        Assert.Same(array, segment.Array);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(7)]
    [InlineData(1)]
    public void A_request_reads_as_the_generated_parser_reads_it_and_writes_back_as_the_bytes_it_arrived_as(int chunk)
    {
        byte[] sent = UnusualRequest();
        var request = InferMarshallers.Request.ContextualDeserializer(new Payload(sent, chunk));

        Assert.Equal(ModelInferRequest.Parser.ParseFrom(sent), request);
        Assert.Equal("client-7", request.Id);
        Assert.Equal([Tensor(1, 16), Tensor(100, 16)], request.RawInputContents.Select(b => b.ToByteArray()));
        Assert.NotNull(request.ReceivedPayload);
        Assert.Equal(sent, request.ReceivedPayload);
        Assert.NotSame(sent, request.ReceivedPayload); // one copy out of the transport's buffers
        foreach (var entry in request.RawInputContents)
        {
            AssertAliases(entry, request.ReceivedPayload);
        }

        Assert.True(request.DecodeStartTimestamp != 0 && request.DecodeEndTimestamp >= request.DecodeStartTimestamp);

        // Google.Protobuf would write other bytes; the marshaller writes the ones that came.
        Assert.NotEqual(sent, request.ToByteArray());
        Assert.Equal(sent, Write(InferMarshallers.Request, request));
        Assert.Equal(sent, Write(InferMarshallers.ClientMethod.RequestMarshaller, request));
    }

    [Fact]
    public void A_request_that_was_built_or_forgotten_is_serialized_from_its_fields()
    {
        var request = InferMarshallers.ParseRequest(UnusualRequest());
        request.ForgetReceivedPayload();
        Assert.Equal(request.ToByteArray(), Write(InferMarshallers.Request, request));

        var built = new ModelInferRequest { ModelName = "simple", Id = "1", RawInputContents = { ByteString.CopyFrom(Tensor(3, 8)) } };
        Assert.Null(built.ReceivedPayload);
        Assert.Equal(built.ToByteArray(), Write(InferMarshallers.Request, built));
        Assert.Null(built.Clone().ReceivedPayload);
        Assert.Null(InferMarshallers.ParseRequest(built.ToByteArray()).Clone().ReceivedPayload);
    }

    [Fact]
    public void A_response_reads_with_its_raw_outputs_aliasing_its_bytes_and_writes_back_as_them()
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(ModelInferResponse.RawOutputContentsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Tensor(7, 32)));
        output.WriteTag(ModelInferResponse.IdFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("client-7");
        output.WriteTag(ModelInferResponse.OutputsFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(new ModelInferResponse.Types.InferOutputTensor { Name = "OUTPUT0", Datatype = "INT32", Shape = { 1, 8 } });
        output.WriteTag(ModelInferResponse.ModelNameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString("simple");
        output.Flush();
        byte[] answered = stream.ToArray();

        var response = InferMarshallers.Response.ContextualDeserializer(new Payload(answered, 5));
        Assert.Equal(ModelInferResponse.Parser.ParseFrom(answered), response);
        AssertAliases(Assert.Single(response.RawOutputContents), response.ReceivedPayload!);
        Assert.NotEqual(answered, response.ToByteArray());
        Assert.Equal(answered, Write(InferMarshallers.Response, response));

        response.ForgetReceivedPayload();
        response.Id = "other";
        Assert.Equal(response.ToByteArray(), Write(InferMarshallers.Response, response));
    }

    [Fact]
    public void Messages_without_raw_contents_and_empty_messages_read_as_the_generated_parser_reads_them()
    {
        var plain = new ModelInferRequest { ModelName = "simple", Id = "x", Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "I", Datatype = "FP32", Shape = { 1 } } } };
        plain.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1.5f } };
        Assert.Equal(plain, InferMarshallers.ParseRequest(plain.ToByteArray()));
        Assert.Equal(new ModelInferRequest(), InferMarshallers.ParseRequest([]));

        // Only raw contents, and empty raw entries.
        var raw = new ModelInferRequest { RawInputContents = { ByteString.Empty, ByteString.CopyFrom(Tensor(0, 3)), ByteString.Empty } };
        byte[] bytes = raw.ToByteArray();
        var read = InferMarshallers.ParseRequest(bytes);
        Assert.Equal(raw, read);
        Assert.Equal(bytes, Write(InferMarshallers.Request, read));
    }

    public static TheoryData<byte[]> Malformed() => new()
    {
        { [0x0A, 0xFF, 0xFF, 0xFF] },                                    // model_name: truncated length
        { [0x3A, 0x05, 0x01, 0x02] },                                    // raw_input_contents longer than the message
        { [0x3A, 0x02, 0x01, 0x02, 0x0A, 0x03, 0x61] },                   // good raw entry, then a truncated name
        { [0x3A, 0x02, 0x01, 0x02, 0x22, 0x03, 0xFF, 0xFF, 0xFF] },       // good raw entry, then an input that does not parse
        { [0x00, 0x01] },                                                // tag zero
        { [0x3A, 0x01, 0x01, 0x0B] },                                    // a group that never ends
        { [0x3A, 0x01, 0x01, 0x0F] },                                    // wire type 7
        { [0x3A, 0x01, 0x01, 0x12, 0x02, 0xC3, 0x28] },                   // model_version not UTF-8
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_bytes_fail_as_the_generated_parser_fails_and_the_server_answers_invalid_argument(byte[] bytes)
    {
        var expected = Assert.Throws<InvalidProtocolBufferException>(() => ModelInferRequest.Parser.ParseFrom(bytes));
        var actual = Assert.Throws<InvalidProtocolBufferException>(() => InferMarshallers.ParseRequest(bytes));
        Assert.Equal(expected.Message, actual.Message);

        var malformed = new MalformedMessages(NullLogger.Instance, null, TimeSpan.FromSeconds(10));
        var server = InferMarshallers.ServerMethod(malformed);
        var e = Assert.Throws<RpcException>(() => server.RequestMarshaller.ContextualDeserializer(new Payload(bytes)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal($"malformed ModelInferRequest: {MalformedMessages.Cut(expected.Message)}", e.Status.Detail);
        Assert.Equal(1, malformed.Total);
    }

    [Fact]
    public void The_methods_are_Tritons_ModelInfer()
    {
        var malformed = new MalformedMessages(NullLogger.Instance, null, TimeSpan.FromSeconds(10));
        Assert.Equal(GRPCInferenceService.Descriptor.FindMethodByName("ModelInfer").FullName, InferMarshallers.ModelInferFullName[1..].Replace('/', '.'));
        Assert.Equal(InferMarshallers.ModelInferFullName, InferMarshallers.ClientMethod.FullName);
        Assert.Equal(InferMarshallers.ModelInferFullName, InferMarshallers.ServerMethod(malformed).FullName);
        Assert.Equal(MethodType.Unary, InferMarshallers.ClientMethod.Type);
    }
}
