using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Models;
using DataPlane.Protocol.Tensors;
using Grpc.Core;

namespace DataPlane.Batching.Models;

/// <summary>What DataPlane knows about one upstream model: its configuration as the upstream
/// reports it, and the request checks that follow from it (Triton's, with Triton's texts).</summary>
public sealed class ModelDescriptor
{
    private readonly ModelSignature _signature;

    public ModelDescriptor(ModelConfig config, string version)
    {
        Config = config;
        Name = config.Name;
        Version = version;
        MaxBatchSize = Math.Max(0, config.MaxBatchSize);
        Decoupled = config.ModelTransactionPolicy?.Decoupled ?? false;
        Sequential = config.SequenceBatching != null;
        int instances = config.InstanceGroup.Sum(g => Math.Max(0, g.Count) * Math.Max(1, g.Gpus.Count));
        InstanceCount = Math.Max(1, instances);
        _signature = ModelSignature.FromConfig(config);
    }

    public string Name { get; }

    /// <summary>The version served ("1" unless the upstream says otherwise).</summary>
    public string Version { get; }

    public ModelConfig Config { get; }

    /// <summary>Upstream max_batch_size; 0 means the model takes no batch dimension.</summary>
    public int MaxBatchSize { get; }

    public bool Batches => MaxBatchSize > 0;

    /// <summary>The model may send zero or many responses per request (LLM token streams).</summary>
    public bool Decoupled { get; }

    /// <summary>The model is stateful (<c>sequence_batching</c>): Triton's sequence batcher owns it, so DataPlane never
    /// merges its requests and sends the steps of a sequence one at a time, in arrival order.</summary>
    public bool Sequential { get; }

    /// <summary>Sum of the instance groups' counts (at least 1).</summary>
    public int InstanceCount { get; }

    public IReadOnlyList<TensorSpec> Inputs => _signature.Inputs;

    public IReadOnlyList<TensorSpec> Outputs => _signature.Outputs;

    /// <summary>True when <paramref name="version"/> (empty = latest; read as Triton reads it, so "01" is 1) names the
    /// served version.</summary>
    public bool ServesVersion(string version) =>
        version.Length == 0 || version == Version ||
        (TritonErrors.TryParseVersion(version, out long v) == null && long.TryParse(Version, out long served) && v == served);

    /// <summary>Checks a request whose tensors are already valid on their own against the model's
    /// declaration and computes the rows it adds to a batch. Null when it may go upstream.</summary>
    public RequestError? Validate(ModelInferRequest request, Tensor[] inputs, out long rows)
    {
        rows = 1;
        if (!ServesVersion(request.ModelVersion))
        {
            return new(StatusCode.NotFound, TritonErrors.UnknownVersion(Name, request.ModelVersion).Status.Detail);
        }

        return _signature.Validate(request, inputs, out rows);
    }

    /// <summary>The model's metadata in the protocol's form (batch dimension shown as -1): the requested version
    /// only when one is given, as Triton answers.</summary>
    public ModelMetadataResponse ToMetadata(string version = "")
    {
        var m = new ModelMetadataResponse { Name = Name, Platform = Config.Platform.Length > 0 ? Config.Platform : Config.Backend };
        m.Versions.Add(version.Length > 0 ? version : Version);
        foreach (var i in Inputs)
        {
            m.Inputs.Add(ToMetadata(i));
        }

        foreach (var o in Outputs)
        {
            m.Outputs.Add(ToMetadata(o));
        }

        return m;
    }

    private ModelMetadataResponse.Types.TensorMetadata ToMetadata(TensorSpec spec)
    {
        var t = new ModelMetadataResponse.Types.TensorMetadata { Name = spec.Name, Datatype = spec.DataType.WireName() };
        if (Batches)
        {
            t.Shape.Add(-1);
        }

        t.Shape.Add(spec.Dims);
        return t;
    }
}
