using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using Google.Protobuf;

namespace DataPlane.Spillover;

/// <summary>The spill call on the transfer engine's RPC channel: method 1 carries a batch as
/// [8-byte big-endian deadline, Unix ms, 0 = none][ModelInferRequest protobuf] and answers with a ModelInferResponse
/// protobuf, or an error whose status is the gRPC code the peer's front end gave.</summary>
internal static class SpillProtocol
{
    public const ushort InferMethod = 1;

    public static byte[] EncodeRequest(ModelInferRequest batch, DateTime? deadline)
    {
        byte[] bytes = new byte[8 + batch.CalculateSize()];
        long ms = deadline is { } d ? new DateTimeOffset(d.ToUniversalTime()).ToUnixTimeMilliseconds() : 0;
        BinaryPrimitives.WriteInt64BigEndian(bytes, ms);
        batch.WriteTo(bytes.AsSpan(8));
        return bytes;
    }

    /// <summary>Reads a request; a malformed one is an <see cref="InvalidDataException"/> naming the problem.</summary>
    public static (ModelInferRequest Batch, DateTime Deadline) DecodeRequest(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length < 8)
        {
            throw new InvalidDataException($"spill request of {payload.Length} bytes has no deadline header");
        }

        long ms = BinaryPrimitives.ReadInt64BigEndian(payload.Span);
        var deadline = ms <= 0 ? DateTime.MaxValue : DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
        try
        {
            return (ModelInferRequest.Parser.ParseFrom(payload.Span[8..]), deadline);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"spill request is not a ModelInferRequest: {e.Message}", e);
        }
    }
}
