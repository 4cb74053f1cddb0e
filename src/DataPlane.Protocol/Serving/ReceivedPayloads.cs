using DataPlane.Protocol.Serving;

namespace DataPlane.Protocol.Inference;

/// <summary>The bytes a ModelInfer request arrived as (<see cref="InferMarshallers"/>).</summary>
public sealed partial class ModelInferRequest
{
    /// <summary>The gRPC payload this request was parsed from, when <see cref="InferMarshallers"/> read it; its raw
    /// input contents alias this array. While set, the request is written upstream as these bytes. Null for requests
    /// built here, for copies (<c>Clone</c>) and after <see cref="ForgetReceivedPayload"/>. Code that changes a request
    /// it received must call <see cref="ForgetReceivedPayload"/> first, or change a copy.</summary>
    public byte[]? ReceivedPayload { get; internal set; }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamps of the start and end of reading the request
    /// from the transport (copy and parse); 0 for requests not read by <see cref="InferMarshallers"/>.</summary>
    public long DecodeStartTimestamp { get; internal set; }

    /// <inheritdoc cref="DecodeStartTimestamp"/>
    public long DecodeEndTimestamp { get; internal set; }

    /// <summary>Stops writing the request as its received bytes: it is serialized from its fields from now on (its
    /// raw input contents still alias the received array, which stays alive as long as they do).</summary>
    public void ForgetReceivedPayload() => ReceivedPayload = null;
}

/// <summary>The bytes a ModelInfer response arrived as (<see cref="InferMarshallers"/>).</summary>
public sealed partial class ModelInferResponse
{
    /// <summary>The gRPC payload this response was parsed from, when <see cref="InferMarshallers"/> read it (the
    /// upstream's answer); its raw output contents alias this array. While set, the response is written to the client
    /// as these bytes. Null for responses built here, for copies (<c>Clone</c>) and after
    /// <see cref="ForgetReceivedPayload"/>. Code that changes a response it received must call
    /// <see cref="ForgetReceivedPayload"/> first, or change a copy.</summary>
    public byte[]? ReceivedPayload { get; internal set; }

    /// <summary>Stops writing the response as its received bytes: it is serialized from its fields from now on.</summary>
    public void ForgetReceivedPayload() => ReceivedPayload = null;
}
