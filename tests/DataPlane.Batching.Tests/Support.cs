using DataPlane.Batching.Queueing;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Batching.Tests;

/// <summary>Builds requests for the unit tests.</summary>
internal static class Support
{
    public static ModelInferRequest Request(string model, string type, long[] shape, byte[] raw, string id = "")
    {
        var r = new ModelInferRequest { ModelName = model, Id = id };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = type };
        input.Shape.Add(shape);
        r.Inputs.Add(input);
        r.RawInputContents.Add(ByteString.CopyFrom(raw));
        return r;
    }

    public static PendingRequest Pending(ModelInferRequest r, int level = 0, long arrival = 0, long deadline = long.MaxValue, bool batched = true, bool fromPeer = false)
    {
        Assert.Null(TensorReader.TryReadInputs(r, TensorLimits.Default, out var inputs, out _));
        long rows = batched ? inputs[0].BatchDim : 1;
        return new PendingRequest(r, inputs, rows, BatchSignature.Compute(r, batched), level, arrival, deadline, long.MaxValue, fromPeer);
    }
}
