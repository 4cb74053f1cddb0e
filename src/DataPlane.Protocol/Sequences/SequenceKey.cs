using DataPlane.Protocol.Inference;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace DataPlane.Protocol.Sequences;

/// <summary>The sequence (correlation id) a request belongs to, from its <c>sequence_id</c>, <c>sequence_start</c>
/// and <c>sequence_end</c> parameters, checked with Triton's rules: the id is an <c>int64_param</c> or a
/// <c>string_param</c> (0 and "" mean "no sequence"), a string id has at most 128 characters, the flags are
/// <c>bool_param</c>s.</summary>
public readonly record struct SequenceKey(ulong Id, string? Text, bool Start, bool End)
{
    public const string IdKey = "sequence_id";
    public const string StartKey = "sequence_start";
    public const string EndKey = "sequence_end";

    /// <summary>Longest string correlation id Triton accepts.</summary>
    public const int MaxStringLength = 128;

    /// <summary>True when the request names a sequence.</summary>
    public bool IsSequence => Id != 0 || !string.IsNullOrEmpty(Text);

    /// <summary>The id as Triton prints it: the decimal number or the string.</summary>
    public override string ToString() => Text ?? Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="parameters"/> carry any sequence parameter.</summary>
    public static bool IsPresent(MapField<string, InferParameter> parameters) =>
        parameters.Count > 0 && (parameters.ContainsKey(IdKey) || parameters.ContainsKey(StartKey) || parameters.ContainsKey(EndKey));

    /// <summary>Reads the sequence parameters; <paramref name="key"/> is default (no sequence) when there are none.</summary>
    public static RequestError? TryParse(MapField<string, InferParameter> parameters, out SequenceKey key)
    {
        key = default;
        if (!IsPresent(parameters))
        {
            return null;
        }

        ulong id = 0;
        string? text = null;
        if (parameters.TryGetValue(IdKey, out var p))
        {
            switch (p.ParameterChoiceCase)
            {
                case InferParameter.ParameterChoiceOneofCase.Int64Param:
                    id = unchecked((ulong)p.Int64Param);
                    break;
                case InferParameter.ParameterChoiceOneofCase.StringParam:
                    if (p.StringParam.Length > MaxStringLength)
                    {
                        return new RequestError(StatusCode.Unimplemented, $"string correlation ID cannot be longer than {MaxStringLength} characters");
                    }

                    text = p.StringParam;
                    break;
                default:
                    return RequestError.Invalid($"invalid value type for '{IdKey}' parameter, expected int64_param or string_param.");
            }
        }

        bool start = false, end = false;
        if (parameters.TryGetValue(StartKey, out var s))
        {
            if (s.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.BoolParam)
            {
                return RequestError.Invalid($"invalid value type for '{StartKey}' parameter, expected bool_param.");
            }

            start = s.BoolParam;
        }

        if (parameters.TryGetValue(EndKey, out var e))
        {
            if (e.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.BoolParam)
            {
                return RequestError.Invalid($"invalid value type for '{EndKey}' parameter, expected bool_param.");
            }

            end = e.BoolParam;
        }

        key = new SequenceKey(id, string.IsNullOrEmpty(text) ? null : text, start, end);
        return null;
    }

    /// <summary>The identity of the sequence alone (flags cleared), for use as a dictionary key.</summary>
    public SequenceKey Identity => this with { Start = false, End = false };
}
