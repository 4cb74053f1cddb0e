using System.Buffers;
using System.Diagnostics;
using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Protocol.Serving;

/// <summary>ModelInfer's marshallers for relaying without decoding and re-encoding the tensors. A request or response
/// read by them keeps the bytes it arrived as (<see cref="ModelInferRequest.ReceivedPayload"/>,
/// <see cref="ModelInferResponse.ReceivedPayload"/>; its raw contents alias them, <see cref="AliasingParser"/>), and
/// a message that still holds them is written as those bytes instead of being serialized again. So a request that
/// goes upstream alone reaches Triton as the bytes the client sent, and Triton's answer reaches the client as the
/// bytes Triton sent. Messages built here (batches, split answers, the HTTP front end's) have no received bytes and
/// are serialized as always.</summary>
public static class InferMarshallers
{
    /// <summary>The gRPC service name of KServe v2 / Triton.</summary>
    public const string ServiceName = "inference.GRPCInferenceService";

    /// <summary>The full name of the ModelInfer method.</summary>
    public const string ModelInferFullName = "/" + ServiceName + "/ModelInfer";

    /// <summary>Reads requests keeping their bytes; writes them as their received bytes when they have them.</summary>
    public static Marshaller<ModelInferRequest> Request { get; } = new(WriteRequest, ReadRequest);

    /// <summary>Reads responses keeping their bytes; writes them as their received bytes when they have them.</summary>
    public static Marshaller<ModelInferResponse> Response { get; } = new(WriteResponse, ReadResponse);

    /// <summary>ModelInfer for a client (the daemon's upstream calls): requests written as received, responses
    /// read keeping their bytes.</summary>
    public static Method<ModelInferRequest, ModelInferResponse> ClientMethod { get; } =
        new(MethodType.Unary, ServiceName, "ModelInfer", Request, Response);

    /// <summary>ModelInfer for a server: requests read keeping their bytes, malformed ones answered INVALID_ARGUMENT
    /// (<see cref="StrictGrpcServices.Strict{T}"/>); responses written as received when they still hold their
    /// bytes.</summary>
    public static Method<ModelInferRequest, ModelInferResponse> ServerMethod(MalformedMessages malformed) =>
        new(MethodType.Unary, ServiceName, "ModelInfer", StrictGrpcServices.Strict(Request, ModelInferFullName, malformed), Response);

    /// <summary>Parses a request from <paramref name="payload"/>, its raw input contents aliasing it; the request keeps
    /// the array as its <see cref="ModelInferRequest.ReceivedPayload"/>.</summary>
    public static ModelInferRequest ParseRequest(byte[] payload)
    {
        var request = AliasingParser.Parse(ModelInferRequest.Parser, payload, ModelInferRequest.RawInputContentsFieldNumber,
            static r => r.RawInputContents);
        request.ReceivedPayload = payload;
        return request;
    }

    /// <summary>Parses a response from <paramref name="payload"/>, its raw output contents aliasing it; the response
    /// keeps the array as its <see cref="ModelInferResponse.ReceivedPayload"/>.</summary>
    public static ModelInferResponse ParseResponse(byte[] payload)
    {
        var response = AliasingParser.Parse(ModelInferResponse.Parser, payload, ModelInferResponse.RawOutputContentsFieldNumber,
            static r => r.RawOutputContents);
        response.ReceivedPayload = payload;
        return response;
    }

    private static ModelInferRequest ReadRequest(DeserializationContext context)
    {
        long start = Stopwatch.GetTimestamp();
        var request = ParseRequest(Copy(context));
        request.DecodeStartTimestamp = start;
        request.DecodeEndTimestamp = Stopwatch.GetTimestamp();
        return request;
    }

    private static ModelInferResponse ReadResponse(DeserializationContext context) => ParseResponse(Copy(context));

    private static void WriteRequest(ModelInferRequest request, SerializationContext context) =>
        Write(request, request.ReceivedPayload, context);

    private static void WriteResponse(ModelInferResponse response, SerializationContext context) =>
        Write(response, response.ReceivedPayload, context);

    /// <summary>The message's bytes into the transport's buffer: the received ones when the message still holds them,
    /// else its serialization (as the generated marshaller writes it).</summary>
    private static void Write(IBufferMessage message, byte[]? received, SerializationContext context)
    {
        if (received != null)
        {
            context.SetPayloadLength(received.Length);
            context.GetBufferWriter().Write(received);
        }
        else
        {
            context.SetPayloadLength(((IMessage)message).CalculateSize());
            message.WriteTo(context.GetBufferWriter());
        }

        context.Complete();
    }

    /// <summary>One copy of the transport's payload into an array of our own: the transport's buffers are released
    /// once the message is read, and the message's tensors alias the copy.</summary>
    private static byte[] Copy(DeserializationContext context)
    {
        var payload = context.PayloadAsReadOnlySequence();
        var data = GC.AllocateUninitializedArray<byte>(checked((int)payload.Length));
        payload.CopyTo(data);
        return data;
    }
}
