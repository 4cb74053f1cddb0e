using DataPlane.Protocol.Tensors;

namespace DataPlane.Batching.Options;

/// <summary>Batching settings of the daemon: defaults, per-model overrides and tensor limits.</summary>
public sealed record BatchingOptions
{
    /// <summary>Settings of every model not listed in <see cref="Models"/>.</summary>
    public ModelBatchingOptions Defaults { get; init; } = new();

    /// <summary>Per-model settings by model name; each starts from <see cref="Defaults"/>.</summary>
    public IReadOnlyDictionary<string, ModelBatchingOptions> Models { get; init; } =
        new Dictionary<string, ModelBatchingOptions>(StringComparer.Ordinal);

    /// <summary>Limits every request and upstream response must meet.</summary>
    public TensorLimits Limits { get; init; } = TensorLimits.Default;

    /// <summary>The settings of <paramref name="model"/>.</summary>
    public ModelBatchingOptions For(string model) => Models.TryGetValue(model, out var o) ? o : Defaults;
}
