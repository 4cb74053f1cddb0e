using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
using Google.Protobuf.Collections;

namespace DataPlane.Simulation;

/// <summary>The request-level parameters of ModelInfer and ModelStreamInfer, checked as Triton's gRPC front end checks
/// them: the sequence parameters (<see cref="SequenceKey"/>); <c>priority</c> as <c>int64_param</c> (≥ 0) or
/// <c>uint64_param</c>; <c>timeout</c> as <c>int64_param</c>; of the keys starting with <c>triton_</c> only
/// <c>triton_enable_empty_final_response</c> (a <c>bool_param</c>); any other key as an <c>int64_param</c>,
/// <c>bool_param</c>, <c>string_param</c> or <c>double_param</c>. Priority and timeout have no effect in the
/// simulation (as in Triton without priority levels or a queue policy).</summary>
internal readonly record struct RequestParameters(bool EmptyFinalResponse, SequenceKey Sequence)
{
    /// <summary>Request parameter (bool): a decoupled model ends each request with an empty response marked final.</summary>
    public const string EnableEmptyFinalResponse = "triton_enable_empty_final_response";

    /// <summary>Reads <paramref name="parameters"/>; Triton's INVALID_ARGUMENT (or UNIMPLEMENTED for an overlong string
    /// sequence id) when one is wrong.</summary>
    public static RequestError? TryRead(MapField<string, InferParameter> parameters, out RequestParameters result)
    {
        result = default;
        if (parameters.Count == 0)
        {
            return null;
        }

        var error = SequenceKey.TryParse(parameters, out var sequence);
        if (error != null)
        {
            return error;
        }

        bool emptyFinal = false;
        foreach (var (key, value) in parameters)
        {
            var type = value.ParameterChoiceCase;
            switch (key)
            {
                case SequenceKey.IdKey or SequenceKey.StartKey or SequenceKey.EndKey:
                    break;
                case "priority" when type == InferParameter.ParameterChoiceOneofCase.Int64Param && value.Int64Param < 0:
                    return RequestError.Invalid("invalid value for 'priority', expected value >= 0.");
                case "priority" when type is not (InferParameter.ParameterChoiceOneofCase.Int64Param or InferParameter.ParameterChoiceOneofCase.Uint64Param):
                    return RequestError.Invalid("invalid value type for 'priority' parameter, expected int64_param or uint64_param.");
                case "priority":
                    break;
                case "timeout" when type != InferParameter.ParameterChoiceOneofCase.Int64Param:
                    return RequestError.Invalid("invalid value type for 'timeout' parameter, expected int64_param.");
                case "timeout":
                    break;
                case EnableEmptyFinalResponse when type != InferParameter.ParameterChoiceOneofCase.BoolParam:
                    return RequestError.Invalid($"invalid value type for '{EnableEmptyFinalResponse}' parameter, expected bool_param.");
                case EnableEmptyFinalResponse:
                    emptyFinal = value.BoolParam;
                    break;
                case var other when other.StartsWith("triton_", StringComparison.Ordinal):
                    return RequestError.Invalid(TritonErrors.ReservedRequestParameter);
                default:
                    if (type is not (InferParameter.ParameterChoiceOneofCase.Int64Param or InferParameter.ParameterChoiceOneofCase.BoolParam
                        or InferParameter.ParameterChoiceOneofCase.StringParam or InferParameter.ParameterChoiceOneofCase.DoubleParam))
                    {
                        return RequestError.Invalid($"invalid value type for '{TritonErrors.Echo(key)}' parameter, expected int64_param, bool_param, or string_param.");
                    }

                    break;
            }
        }

        result = new RequestParameters(emptyFinal, sequence);
        return null;
    }
}
