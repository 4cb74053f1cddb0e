using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;

namespace DataPlane.Batching.Models;

/// <summary>A tensor a model declares: datatype and dims (without the batch dimension when the
/// model batches; -1 = any size).</summary>
public sealed record TensorSpec(string Name, TensorDataType DataType, long[] Dims, bool Optional);

/// <summary>An error to answer a request with, before or instead of going upstream.</summary>
public readonly record struct RequestError(StatusCode Code, string Message);

/// <summary>What DataPlane knows about one upstream model: its configuration as the upstream
/// reports it, and the request checks that follow from it.</summary>
public sealed class ModelDescriptor
{
    public ModelDescriptor(ModelConfig config, string version)
    {
        Config = config;
        Name = config.Name;
        Version = version;
        MaxBatchSize = Math.Max(0, config.MaxBatchSize);
        Decoupled = config.ModelTransactionPolicy?.Decoupled ?? false;
        int instances = config.InstanceGroup.Sum(g => Math.Max(0, g.Count) * Math.Max(1, g.Gpus.Count));
        InstanceCount = Math.Max(1, instances);
        Inputs = config.Input.Select(i => new TensorSpec(i.Name, TensorDataTypes.FromConfig(i.DataType), [.. i.Dims], i.Optional)).ToArray();
        Outputs = config.Output.Select(o => new TensorSpec(o.Name, TensorDataTypes.FromConfig(o.DataType), [.. o.Dims], false)).ToArray();
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

    /// <summary>Sum of the instance groups' counts (at least 1).</summary>
    public int InstanceCount { get; }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>True when <paramref name="version"/> (empty = latest) names the served version.</summary>
    public bool ServesVersion(string version) => version.Length == 0 || version == Version;

    /// <summary>Checks a request whose tensors are already valid on their own against the model's
    /// declaration and computes the rows it adds to a batch. Null when it may go upstream.</summary>
    public RequestError? Validate(ModelInferRequest request, Tensor[] inputs, out long rows)
    {
        rows = 1;
        if (!ServesVersion(request.ModelVersion))
        {
            return new(StatusCode.NotFound, $"model '{Name}' has no version '{request.ModelVersion}'; it serves version {Version}");
        }

        long batchRows = -1;
        foreach (var tensor in inputs)
        {
            var spec = Find(Inputs, tensor.Name);
            if (Inputs.Count > 0 && spec == null)
            {
                return Invalid($"model '{Name}' has no input '{tensor.Name}'; its inputs are {Names(Inputs)}");
            }

            if (spec != null && spec.DataType != tensor.DataType)
            {
                return Invalid($"input '{tensor.Name}' has datatype {tensor.DataType.WireName()} but model '{Name}' expects {spec.DataType.WireName()}");
            }

            if (Batches)
            {
                if (tensor.Shape.Count == 0)
                {
                    return Invalid($"input '{tensor.Name}' has no batch dimension; model '{Name}' batches (max_batch_size {MaxBatchSize}), so its shape is [batch,{string.Join(",", spec?.Dims ?? [])}]");
                }

                long r = tensor.Shape[0];
                if (r < 1 || r > MaxBatchSize)
                {
                    return Invalid($"input '{tensor.Name}' has batch dimension {r}; model '{Name}' accepts 1 to {MaxBatchSize}");
                }

                if (batchRows >= 0 && r != batchRows)
                {
                    return Invalid($"inputs have different batch dimensions ({batchRows} and {r} for '{tensor.Name}')");
                }

                batchRows = r;
            }

            if (spec != null && !TensorShape.Matches(tensor.Shape, Batches ? 1 : 0, spec.Dims))
            {
                string expected = Batches ? $"[batch,{string.Join(",", spec.Dims)}]" : TensorShape.Format(spec.Dims);
                return Invalid($"input '{tensor.Name}' has shape {TensorShape.Format(tensor.Shape)} but model '{Name}' expects {expected} (-1 = any size)");
            }
        }

        foreach (var spec in Inputs)
        {
            if (!spec.Optional && Array.FindIndex(inputs, t => t.Name == spec.Name) < 0)
            {
                return Invalid($"model '{Name}' requires input '{spec.Name}', which the request lacks");
            }
        }

        var outputs = request.Outputs;
        for (int i = 0; i < outputs.Count; i++)
        {
            string name = outputs[i].Name;
            if (Outputs.Count > 0 && Find(Outputs, name) == null)
            {
                return Invalid($"model '{Name}' has no output '{name}'; its outputs are {Names(Outputs)}");
            }

            for (int j = 0; j < i; j++)
            {
                if (outputs[j].Name == name)
                {
                    return Invalid($"output '{name}' is requested more than once");
                }
            }
        }

        rows = Batches ? batchRows : 1;
        return null;
    }

    /// <summary>The model's metadata in the protocol's form (batch dimension shown as -1).</summary>
    public ModelMetadataResponse ToMetadata()
    {
        var m = new ModelMetadataResponse { Name = Name, Platform = Config.Platform.Length > 0 ? Config.Platform : Config.Backend };
        m.Versions.Add(Version);
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

    private static TensorSpec? Find(IReadOnlyList<TensorSpec> specs, string name)
    {
        for (int i = 0; i < specs.Count; i++)
        {
            if (specs[i].Name == name)
            {
                return specs[i];
            }
        }

        return null;
    }

    private static string Names(IReadOnlyList<TensorSpec> specs) => string.Join(", ", specs.Select(s => s.Name));

    private static RequestError Invalid(string message) => new(StatusCode.InvalidArgument, message);
}
