using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;

namespace DataPlane.Batching.SharedMemory;

/// <summary>The daemon's side of system shared memory for inference: the region windows a request asks its
/// outputs to be written into (held from admission to the answer), the upstream form of a request whose inputs
/// came out of shared memory (every input raw, no shared-memory parameters: Triton needs no registration of its
/// own), and the answer as Triton gives it (the output's bytes in the region, an empty raw entry in its place).</summary>
public sealed class SharedMemoryOutputs : IDisposable
{
    private readonly (string Output, SharedMemoryRegions.Lease Lease)[] _leases;

    private SharedMemoryOutputs((string, SharedMemoryRegions.Lease)[] leases) => _leases = leases;

    /// <summary>Leases the windows of the outputs <paramref name="request"/> wants in shared memory; null and no error
    /// when it wants none. Errors are Triton's (unknown region, bad window, shared memory with classification).</summary>
    public static RequestError? TryResolve(ModelInferRequest request, SharedMemoryRegions regions, out SharedMemoryOutputs? outputs)
    {
        outputs = null;
        List<(string, SharedMemoryRegions.Lease)>? leases = null;
        foreach (var output in request.Outputs)
        {
            var error = SharedMemoryLocation.TryParse(output.Name, output.Parameters, out var location);
            if (error == null && location is { } at)
            {
                if (output.Parameters.ContainsKey("classification"))
                {
                    error = SharedMemoryLocation.ClassificationConflict();
                }
                else
                {
                    error = regions.TryLease(at, out var lease);
                    if (error == null)
                    {
                        (leases ??= []).Add((output.Name, lease!));
                    }
                }
            }

            if (error != null)
            {
                leases?.ForEach(l => l.Item2.Dispose());
                return error;
            }
        }

        outputs = leases == null ? null : new SharedMemoryOutputs([.. leases]);
        return null;
    }

    /// <summary>Writes the outputs that go to shared memory into their regions and leaves an empty raw entry (and no
    /// parameters) in their place, as Triton answers. The response must carry raw contents.</summary>
    public RequestError? TryWrite(ModelInferResponse response)
    {
        foreach (var (name, lease) in _leases)
        {
            int index = -1;
            for (int i = 0; i < response.Outputs.Count; i++)
            {
                if (response.Outputs[i].Name == name)
                {
                    index = i;
                    break;
                }
            }

            if (index < 0 || index >= response.RawOutputContents.Count)
            {
                continue;
            }

            var error = lease.TryWrite(name, response.RawOutputContents[index].Span);
            if (error != null)
            {
                return error;
            }

            response.ForgetReceivedPayload(); // changed here: serialized from its fields, not relayed as Triton's bytes
            response.RawOutputContents[index] = ByteString.Empty;
            response.Outputs[index].Parameters.Clear();
        }

        return null;
    }

    public void Dispose()
    {
        foreach (var (_, lease) in _leases)
        {
            lease.Dispose();
        }
    }

    /// <summary>The request as it goes upstream: the same request with every input's bytes in
    /// <c>raw_input_contents</c> (from <paramref name="inputs"/>, which the tensor reader filled from raw, typed or
    /// shared-memory data) and the shared-memory parameters of inputs and outputs removed.</summary>
    public static ModelInferRequest ToRawRequest(ModelInferRequest request, Tensor[] inputs)
    {
        var raw = new ModelInferRequest { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id };
        raw.Parameters.Add(request.Parameters);
        for (int i = 0; i < request.Inputs.Count; i++)
        {
            var source = request.Inputs[i];
            var input = new ModelInferRequest.Types.InferInputTensor { Name = source.Name, Datatype = source.Datatype };
            input.Shape.Add(source.Shape);
            SharedMemoryLocation.CopyWithout(source.Parameters, input.Parameters);
            raw.Inputs.Add(input);
            raw.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(inputs[i].Raw));
        }

        foreach (var source in request.Outputs)
        {
            var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = source.Name };
            SharedMemoryLocation.CopyWithout(source.Parameters, output.Parameters);
            raw.Outputs.Add(output);
        }

        return raw;
    }
}
