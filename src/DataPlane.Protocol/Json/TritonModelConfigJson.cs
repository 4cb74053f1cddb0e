using System.Collections.Frozen;
using DataPlane.Protocol.Inference;

namespace DataPlane.Protocol.Json;

/// <summary>A model configuration as Triton's HTTP endpoint prints it
/// (<c>GET v2/models/{model}/config</c>) and as Triton reads a <c>config</c> load override.</summary>
/// <remarks>Triton's <c>ModelConfigToJson</c> (core <c>src/model_config_utils.cc</c>) prints with
/// protobuf's JSON printer, then turns the quoted 64-bit integers back into numbers for a fixed
/// list of paths. Three 64-bit fields are missed by that list and stay quoted strings:
/// <c>instance_group[].secondary_devices[].device_id</c>,
/// <c>optimization.cuda.graph_spec[].input{}.dim</c> (and the same under
/// <c>graph_lower_bound</c>), and <c>sequence_batching.state[].initial_state[].dims</c> (the code
/// looks for <c>initial_state</c> on <c>sequence_batching</c> instead of on each state). A
/// configuration whose binary encoding is empty prints as an empty body.</remarks>
public static class TritonModelConfigJson
{
    /// <summary>Full names of the 64-bit fields Triton leaves as JSON strings.</summary>
    private static readonly FrozenSet<string> QuotedInt64Fields = new[]
    {
        "inference.ModelInstanceGroup.SecondaryDevice.device_id",
        "inference.ModelOptimizationPolicy.Cuda.GraphSpec.Shape.dim",
        "inference.ModelSequenceBatching.InitialState.dims",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The body Triton returns for <paramref name="config"/>: compact JSON, or nothing
    /// when every field has its default value.</summary>
    public static byte[] Write(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.CalculateSize() == 0 ? [] : ProtoJson.Write(config, indented: false, QuotedInt64Fields);
    }

    /// <summary>Reads a configuration as Triton reads the <c>config</c> load parameter.</summary>
    /// <exception cref="ProtoJsonException">The text is not JSON or does not fit ModelConfig.</exception>
    public static ModelConfig Read(ReadOnlySpan<byte> utf8Json) => ProtoJson.Read(utf8Json, ModelConfig.Parser);
}
