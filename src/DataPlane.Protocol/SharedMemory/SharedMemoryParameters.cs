using DataPlane.Protocol.Inference;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace DataPlane.Protocol.SharedMemory;

/// <summary>Where a tensor lives in a registered shared-memory region: the tensor parameters
/// <c>shared_memory_region</c> (string), <c>shared_memory_offset</c> (int64, default 0) and
/// <c>shared_memory_byte_size</c> (int64, required with a region), checked with Triton's rules and texts.</summary>
public readonly record struct SharedMemoryLocation(string Region, long Offset, long ByteSize)
{
    public const string RegionKey = "shared_memory_region";
    public const string OffsetKey = "shared_memory_offset";
    public const string ByteSizeKey = "shared_memory_byte_size";

    /// <summary>True when <paramref name="parameters"/> name any shared-memory parameter.</summary>
    public static bool IsPresent(MapField<string, InferParameter> parameters) =>
        parameters.Count > 0 && (parameters.ContainsKey(RegionKey) || parameters.ContainsKey(OffsetKey) || parameters.ContainsKey(ByteSizeKey));

    /// <summary>Reads the location of tensor <paramref name="tensor"/>: null and no error when the tensor is not in
    /// shared memory; an INVALID_ARGUMENT error in Triton's words when the parameters are inconsistent.</summary>
    public static RequestError? TryParse(string tensor, MapField<string, InferParameter> parameters, out SharedMemoryLocation? location)
    {
        location = null;
        if (parameters.Count == 0)
        {
            return null;
        }

        bool hasRegion = parameters.TryGetValue(RegionKey, out var region);
        bool hasOffset = parameters.TryGetValue(OffsetKey, out var offset);
        bool hasSize = parameters.TryGetValue(ByteSizeKey, out var size);
        if (hasRegion && region!.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.StringParam)
        {
            return RequestError.Invalid($"invalid value type for '{RegionKey}' parameter for tensor '{tensor}', expected string_param.");
        }

        if (hasOffset && offset!.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param)
        {
            return RequestError.Invalid($"invalid value type for '{OffsetKey}' parameter for tensor '{tensor}', expected int64_param.");
        }

        if (hasSize && size!.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param)
        {
            return RequestError.Invalid($"invalid value type for '{ByteSizeKey}' parameter for tensor '{tensor}', expected int64_param.");
        }

        if (!hasRegion)
        {
            return hasOffset ? RequestError.Invalid($"'{OffsetKey}' can not be specified without '{RegionKey}' parameter for tensor '{tensor}'")
                : hasSize ? RequestError.Invalid($"'{ByteSizeKey}' can not be specified without '{RegionKey}' parameter for tensor '{tensor}'")
                : null;
        }

        if (!hasSize)
        {
            return RequestError.Invalid($"'{ByteSizeKey}' must be specified along with '{RegionKey}' parameter for tensor '{tensor}'");
        }

        long o = hasOffset ? offset!.Int64Param : 0;
        long n = size!.Int64Param;
        if (o < 0 || n < 0)
        {
            return RequestError.Invalid($"shared memory offset and byte size of tensor '{tensor}' must not be negative (offset {o}, byte size {n})");
        }

        location = new SharedMemoryLocation(region!.StringParam, o, n);
        return null;
    }

    /// <summary>A copy of <paramref name="parameters"/> without the shared-memory keys.</summary>
    public static void CopyWithout(MapField<string, InferParameter> parameters, MapField<string, InferParameter> into)
    {
        foreach (var (key, value) in parameters)
        {
            if (key is not (RegionKey or OffsetKey or ByteSizeKey))
            {
                into.Add(key, value);
            }
        }
    }

    /// <summary>INVALID_ARGUMENT for an output that asks for shared memory and classification at once.</summary>
    public static RequestError ClassificationConflict() =>
        new(StatusCode.InvalidArgument, $"output can't set both '{RegionKey}' and 'classification'");
}
