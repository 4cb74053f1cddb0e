using DataPlane.Batching.Models;
using DataPlane.Batching.Queueing;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf.Collections;

namespace DataPlane.Batching.Batching;

/// <summary>Turns the requests of a batch into one upstream request (inputs concatenated along
/// dimension 0 into pooled buffers) and the upstream response back into one response per request
/// (outputs sliced by each request's rows, without copying). A batch of one request goes upstream
/// unchanged. Answers always carry <c>raw_output_contents</c>, one entry per output, as Triton's do, whatever
/// form the request's inputs took.</summary>
public static class BatchAssembler
{
    /// <summary>Builds the upstream request. Buffers rented for concatenated inputs are added to
    /// <paramref name="rented"/>; return them to the pool once the call has completed.</summary>
    public static ModelInferRequest Build(IReadOnlyList<PendingRequest> batch, long rows, List<byte[]> rented)
    {
        if (batch.Count == 1)
        {
            return batch[0].Message;
        }

        var head = batch[0].Message;
        var request = new ModelInferRequest { ModelName = head.ModelName, ModelVersion = head.ModelVersion };
        if (head.Parameters.Count > 0)
        {
            foreach (var (key, value) in head.Parameters)
            {
                if (!BatchSignature.IsSchedulingParameter(key))
                {
                    request.Parameters.Add(key, value);
                }
            }
        }

        request.Outputs.Add(head.Outputs);
        var parts = new ReadOnlyMemory<byte>[batch.Count];
        for (int i = 0; i < head.Inputs.Count; i++)
        {
            var source = head.Inputs[i];
            var input = new ModelInferRequest.Types.InferInputTensor { Name = source.Name, Datatype = source.Datatype };
            input.Shape.Add(rows);
            for (int d = 1; d < source.Shape.Count; d++)
            {
                input.Shape.Add(source.Shape[d]);
            }

            AddParameters(input.Parameters, source.Parameters);
            request.Inputs.Add(input);

            for (int r = 0; r < batch.Count; r++)
            {
                parts[r] = batch[r].Inputs[i].Raw;
            }

            request.RawInputContents.Add(TypedContents.Wrap(TensorSplitter.Concatenate(parts, out byte[] buffer)));
            rented.Add(buffer);
        }

        return request;
    }

    /// <summary>Builds each request's response from the upstream response. Returns null on
    /// success, otherwise why the upstream response cannot be split (an upstream fault).</summary>
    public static string? TrySplit(IReadOnlyList<PendingRequest> batch, ModelInferResponse upstream, TensorLimits limits,
        ModelInferResponse[] responses)
    {
        if (batch.Count == 1 && upstream.RawOutputContents.Count == upstream.Outputs.Count)
        {
            responses[0] = upstream;
            return null;
        }

        string? error = TensorReader.TryReadOutputs(upstream, limits, out var outputs);
        if (error != null)
        {
            return "upstream response is malformed: " + error;
        }

        var rows = new long[batch.Count];
        for (int r = 0; r < batch.Count; r++)
        {
            rows[r] = batch[r].Rows;
        }

        var slices = new ReadOnlyMemory<byte>[outputs.Length][];
        for (int k = 0; k < outputs.Length; k++)
        {
            slices[k] = new ReadOnlyMemory<byte>[batch.Count];
            if (batch.Count == 1)
            {
                slices[k][0] = outputs[k].Raw;
                continue;
            }

            error = TensorSplitter.TrySplit(outputs[k], rows, slices[k]);
            if (error != null)
            {
                return "upstream response does not match the batch: " + error;
            }
        }

        for (int r = 0; r < batch.Count; r++)
        {
            var request = batch[r];
            var response = new ModelInferResponse
            {
                ModelName = upstream.ModelName,
                ModelVersion = upstream.ModelVersion,
                Id = request.Message.Id,
            };
            AddParameters(response.Parameters, upstream.Parameters);
            for (int k = 0; k < outputs.Length; k++)
            {
                var source = upstream.Outputs[k];
                var output = new ModelInferResponse.Types.InferOutputTensor { Name = source.Name, Datatype = source.Datatype };
                if (batch.Count == 1)
                {
                    output.Shape.Add(source.Shape);
                }
                else
                {
                    output.Shape.Add(request.Rows);
                    for (int d = 1; d < source.Shape.Count; d++)
                    {
                        output.Shape.Add(source.Shape[d]);
                    }
                }

                AddParameters(output.Parameters, source.Parameters);
                response.RawOutputContents.Add(TypedContents.Wrap(slices[k][r]));
                response.Outputs.Add(output);
            }

            responses[r] = response;
        }

        return null;
    }

    /// <summary>Copies a protobuf map, skipping the empty ones: enumerating a map allocates, and most tensors carry no
    /// parameters.</summary>
    private static void AddParameters(MapField<string, InferParameter> to, MapField<string, InferParameter> from)
    {
        if (from.Count > 0)
        {
            to.Add(from);
        }
    }
}
