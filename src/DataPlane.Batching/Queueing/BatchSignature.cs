using DataPlane.Protocol.Inference;
using Google.Protobuf.Collections;

namespace DataPlane.Batching.Queueing;

/// <summary>What two requests must share to ride in one batch: model version, input names,
/// datatypes and dimensions after the first (and every dimension for models that do not batch),
/// tensor parameters, requested outputs, and request parameters other than the scheduling ones
/// (<c>priority</c>, <c>timeout</c>). A 64-bit FNV-1a hash makes the common comparison one
/// integer compare; <see cref="Compatible"/> confirms a hash match exactly.</summary>
public static class BatchSignature
{
    private const ulong Offset = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    /// <summary>Request parameters the batcher consumes; they never split batches.</summary>
    public static bool IsSchedulingParameter(string key) => key is "priority" or "timeout";

    public static long Compute(ModelInferRequest request, bool batched)
    {
        ulong h = Offset;
        h = Mix(h, request.ModelVersion);
        h = Mix(h, (ulong)request.Inputs.Count);
        foreach (var input in request.Inputs)
        {
            h = Mix(h, input.Name);
            h = Mix(h, input.Datatype);
            h = Mix(h, (ulong)input.Shape.Count);
            for (int i = batched ? 1 : 0; i < input.Shape.Count; i++)
            {
                h = Mix(h, (ulong)input.Shape[i]);
            }

            h = MixParameters(h, input.Parameters, skipScheduling: false);
        }

        h = Mix(h, (ulong)request.Outputs.Count);
        foreach (var output in request.Outputs)
        {
            h = Mix(h, output.Name);
            h = MixParameters(h, output.Parameters, skipScheduling: false);
        }

        h = MixParameters(h, request.Parameters, skipScheduling: true);
        return (long)h;
    }

    /// <summary>Exact check behind a hash match.</summary>
    public static bool Compatible(ModelInferRequest a, ModelInferRequest b, bool batched)
    {
        if (a.ModelVersion != b.ModelVersion || a.Inputs.Count != b.Inputs.Count || a.Outputs.Count != b.Outputs.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Inputs.Count; i++)
        {
            var x = a.Inputs[i];
            var y = b.Inputs[i];
            if (x.Name != y.Name || x.Datatype != y.Datatype || x.Shape.Count != y.Shape.Count || !SameMap(x.Parameters, y.Parameters))
            {
                return false;
            }

            for (int d = batched ? 1 : 0; d < x.Shape.Count; d++)
            {
                if (x.Shape[d] != y.Shape[d])
                {
                    return false;
                }
            }
        }

        for (int i = 0; i < a.Outputs.Count; i++)
        {
            var x = a.Outputs[i];
            var y = b.Outputs[i];
            if (x.Name != y.Name || !SameMap(x.Parameters, y.Parameters))
            {
                return false;
            }
        }

        return SameNonScheduling(a.Parameters, b.Parameters);
    }

    /// <summary>Map equality without enumerating empty maps (a protobuf map's enumerator is an allocation, and most
    /// requests carry no parameters).</summary>
    private static bool SameMap(MapField<string, InferParameter> a, MapField<string, InferParameter> b) =>
        a.Count == 0 ? b.Count == 0 : a.Equals(b);

    private static bool SameNonScheduling(MapField<string, InferParameter> a, MapField<string, InferParameter> b)
    {
        if (a.Count == 0 && b.Count == 0)
        {
            return true;
        }

        int countA = 0;
        foreach (var (key, value) in a)
        {
            if (IsSchedulingParameter(key))
            {
                continue;
            }

            countA++;
            if (!b.TryGetValue(key, out var other) || !other.Equals(value))
            {
                return false;
            }
        }

        int countB = 0;
        foreach (var key in b.Keys)
        {
            if (!IsSchedulingParameter(key))
            {
                countB++;
            }
        }

        return countA == countB;
    }

    private static ulong MixParameters(ulong h, MapField<string, InferParameter> parameters, bool skipScheduling)
    {
        if (parameters.Count == 0)
        {
            return h;
        }

        // Map order is not significant: combine per-entry hashes commutatively.
        ulong sum = 0;
        bool any = false;
        foreach (var (key, value) in parameters)
        {
            if (skipScheduling && IsSchedulingParameter(key))
            {
                continue;
            }

            any = true;
            ulong e = Mix(Offset, key);
            e = Mix(e, (ulong)value.ParameterChoiceCase);
            e = value.ParameterChoiceCase switch
            {
                InferParameter.ParameterChoiceOneofCase.BoolParam => Mix(e, value.BoolParam ? 1UL : 0UL),
                InferParameter.ParameterChoiceOneofCase.Int64Param => Mix(e, (ulong)value.Int64Param),
                InferParameter.ParameterChoiceOneofCase.StringParam => Mix(e, value.StringParam),
                InferParameter.ParameterChoiceOneofCase.DoubleParam => Mix(e, (ulong)BitConverter.DoubleToInt64Bits(value.DoubleParam)),
                InferParameter.ParameterChoiceOneofCase.Uint64Param => Mix(e, value.Uint64Param),
                _ => e,
            };
            sum += e;
        }

        return any ? Mix(h, sum) : h;
    }

    private static ulong Mix(ulong h, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            h ^= (byte)(value >> (i * 8));
            h *= Prime;
        }

        return h;
    }

    private static ulong Mix(ulong h, string value)
    {
        foreach (char c in value)
        {
            h ^= c;
            h *= Prime;
        }

        return Mix(h, (ulong)value.Length);
    }
}
