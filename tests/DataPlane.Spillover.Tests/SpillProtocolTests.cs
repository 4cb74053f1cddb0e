using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Spillover;
using Google.Protobuf;

namespace DataPlane.Spillover.Tests;

public class SpillProtocolTests
{
    private static ModelInferRequest Batch()
    {
        var batch = new ModelInferRequest { ModelName = "simple", Id = "batch-7" };
        batch.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 2, 4 } });
        batch.RawInputContents.Add(ByteString.CopyFrom(new byte[32]));
        return batch;
    }

    [Fact]
    public void A_batch_and_its_deadline_come_through_to_the_millisecond()
    {
        var deadline = new DateTime(2030, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc);

        var (batch, decoded) = SpillProtocol.DecodeRequest(SpillProtocol.EncodeRequest(Batch(), deadline));

        Assert.Equal(Batch(), batch);
        Assert.Equal(deadline, decoded);
        Assert.Equal(DateTimeKind.Utc, decoded.Kind);
    }

    [Fact]
    public void The_deadline_is_eight_big_endian_bytes_of_unix_milliseconds_before_the_protobuf()
    {
        var deadline = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123).UtcDateTime;

        byte[] bytes = SpillProtocol.EncodeRequest(Batch(), deadline);

        Assert.Equal(1_700_000_000_123, BinaryPrimitives.ReadInt64BigEndian(bytes));
        Assert.Equal(Batch().ToByteArray(), bytes[8..]);
    }

    [Fact]
    public void A_batch_without_a_deadline_has_none_at_the_peer()
    {
        byte[] bytes = SpillProtocol.EncodeRequest(Batch(), deadline: null);

        Assert.Equal(0, BinaryPrimitives.ReadInt64BigEndian(bytes));
        Assert.Equal(DateTime.MaxValue, SpillProtocol.DecodeRequest(bytes).Deadline);
    }

    [Fact]
    public void A_payload_shorter_than_the_deadline_header_is_refused_by_its_length()
    {
        var e = Assert.Throws<InvalidDataException>(() => SpillProtocol.DecodeRequest(new byte[5]));

        Assert.Equal("spill request of 5 bytes has no deadline header", e.Message);
    }

    [Fact]
    public void A_payload_that_is_not_a_request_is_refused_as_such()
    {
        byte[] payload = [0, 0, 0, 0, 0, 0, 0, 0, 0xFF];

        var e = Assert.Throws<InvalidDataException>(() => SpillProtocol.DecodeRequest(payload));

        Assert.StartsWith("spill request is not a ModelInferRequest: ", e.Message, StringComparison.Ordinal);
    }
}
