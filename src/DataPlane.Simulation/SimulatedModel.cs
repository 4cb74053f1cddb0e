using System.Globalization;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Options;

namespace DataPlane.Simulation;

/// <summary>One served simulated model: its options, the configuration and metadata it reports,
/// the request checks that follow from its declaration, its statistics and (tensor models) its
/// executors.</summary>
internal sealed class SimulatedModel : IDisposable
{
    /// <summary>The only version a simulated model serves.</summary>
    public const string ServedVersion = "1";

    /// <summary>Platform and backend reported by ModelConfig and ModelMetadata.</summary>
    public const string Platform = "simulation";

    private readonly ModelConfig _config;
    private readonly ModelMetadataResponse _metadata;

    public SimulatedModel(SimulatedModelOptions options)
    {
        Options = options;
        Statistics = new SimulatedModelStatistics();
        _config = BuildConfig(options);
        _metadata = BuildMetadata(options);
        Pool = options.Kind == SimulatedModelKind.Tensor ? new ExecutorPool(options, Statistics) : null;
    }

    public SimulatedModelOptions Options { get; }

    public string Name => Options.Name;

    public bool Batches => Options.MaxBatchSize > 0;

    /// <summary>LLM models are decoupled: zero or many responses per request, ModelStreamInfer only.</summary>
    public bool Decoupled => Options.Kind == SimulatedModelKind.Llm;

    public SimulatedModelStatistics Statistics { get; }

    /// <summary>The executors of a tensor model; null for LLM models.</summary>
    public ExecutorPool? Pool { get; }

    /// <summary>A copy of the model's configuration, as ModelConfig reports it.</summary>
    public ModelConfig Config() => _config.Clone();

    /// <summary>A copy of the model's metadata (batch dimension shown as -1).</summary>
    public ModelMetadataResponse Metadata() => _metadata.Clone();

    /// <summary>True when <paramref name="version"/> (empty = latest) names the served version.</summary>
    public static bool ServesVersion(string version) => version.Length == 0 || version == ServedVersion;

    /// <summary>Checks a request for a served version whose tensors are valid on their own against the model's declaration
    /// (names, datatypes, dims, batch size, requested outputs) and plans its outputs (tensor models).
    /// Null when the request may run.</summary>
    public SimulationError? Validate(ModelInferRequest request, Tensor[] inputs, out long rows, out PlannedOutput[] outputs)
    {
        rows = 1;
        outputs = [];
        long batchRows = -1;
        foreach (var tensor in inputs)
        {
            var spec = Find(Options.Inputs, tensor.Name);
            if (spec is null)
            {
                return SimulationError.Invalid($"model '{Name}' has no input '{tensor.Name}'; its inputs are {Names(Options.Inputs)}");
            }

            if (spec.DataType != tensor.DataType)
            {
                return SimulationError.Invalid(
                    $"input '{tensor.Name}' has datatype {tensor.DataType.WireName()} but model '{Name}' expects {spec.DataType.WireName()}");
            }

            if (Batches)
            {
                if (tensor.Shape.Count == 0)
                {
                    return SimulationError.Invalid($"input '{tensor.Name}' has no batch dimension; model '{Name}' batches " +
                        $"(max_batch_size {Options.MaxBatchSize}), so its shape is {Expected(spec)}");
                }

                long r = tensor.Shape[0];
                if (r < 1 || r > Options.MaxBatchSize)
                {
                    return SimulationError.Invalid(
                        $"input '{tensor.Name}' has batch dimension {r}; model '{Name}' accepts 1 to {Options.MaxBatchSize} (max_batch_size)");
                }

                if (batchRows >= 0 && r != batchRows)
                {
                    return SimulationError.Invalid($"inputs have different batch dimensions ({batchRows}, and {r} for input '{tensor.Name}')");
                }

                batchRows = r;
            }

            if (!TensorShape.Matches(tensor.Shape, Batches ? 1 : 0, spec.Dims))
            {
                return SimulationError.Invalid(
                    $"input '{tensor.Name}' has shape {TensorShape.Format(tensor.Shape)} but model '{Name}' expects {Expected(spec)} (-1 = any size)");
            }
        }

        foreach (var spec in Options.Inputs)
        {
            if (!spec.Optional && Array.FindIndex(inputs, t => t.Name == spec.Name) < 0)
            {
                return SimulationError.Invalid($"model '{Name}' requires input '{spec.Name}', which the request lacks");
            }
        }

        var requested = request.Outputs;
        for (int i = 0; i < requested.Count; i++)
        {
            string name = requested[i].Name;
            if (Find(Options.Outputs, name) is null)
            {
                return SimulationError.Invalid($"model '{Name}' has no output '{name}'; its outputs are {Names(Options.Outputs)}");
            }

            for (int j = 0; j < i; j++)
            {
                if (requested[j].Name == name)
                {
                    return SimulationError.Invalid($"output '{name}' is requested more than once");
                }
            }
        }

        rows = Batches ? batchRows : 1;
        if (!Decoupled)
        {
            outputs = Plan(request, inputs);
        }

        return null;
    }

    /// <summary>The outputs to compute: those requested, in request order, or all in declaration order.</summary>
    private PlannedOutput[] Plan(ModelInferRequest request, Tensor[] inputs)
    {
        var declared = Options.Outputs;
        int count = request.Outputs.Count > 0 ? request.Outputs.Count : declared.Count;
        var plan = new PlannedOutput[count];
        for (int i = 0; i < count; i++)
        {
            int k = request.Outputs.Count > 0 ? IndexOf(declared, request.Outputs[i].Name) : i;
            string source = Options.Inputs[k].Name;
            plan[i] = new PlannedOutput(declared[k], Array.Find(inputs, t => t.Name == source)!);
        }

        return plan;
    }

    private string Expected(SimulatedTensorOptions spec) =>
        Batches ? $"[batch,{string.Join(",", spec.Dims)}]" : TensorShape.Format(spec.Dims);

    private static SimulatedTensorOptions? Find(IReadOnlyList<SimulatedTensorOptions> specs, string name)
    {
        int i = IndexOf(specs, name);
        return i < 0 ? null : specs[i];
    }

    private static int IndexOf(IReadOnlyList<SimulatedTensorOptions> specs, string name)
    {
        for (int i = 0; i < specs.Count; i++)
        {
            if (specs[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Names(IReadOnlyList<SimulatedTensorOptions> specs) => string.Join(", ", specs.Select(s => s.Name));

    private static ModelConfig BuildConfig(SimulatedModelOptions o)
    {
        var config = new ModelConfig
        {
            Name = o.Name,
            Platform = Platform,
            Backend = Platform,
            MaxBatchSize = o.MaxBatchSize,
            ModelTransactionPolicy = new ModelTransactionPolicy { Decoupled = o.Kind == SimulatedModelKind.Llm },
        };
        foreach (var i in o.Inputs)
        {
            var input = new ModelInput { Name = i.Name, DataType = i.DataType.ToConfig(), Optional = i.Optional };
            input.Dims.Add(i.Dims);
            config.Input.Add(input);
        }

        foreach (var t in o.Outputs)
        {
            var output = new ModelOutput { Name = t.Name, DataType = t.DataType.ToConfig() };
            output.Dims.Add(t.Dims);
            config.Output.Add(output);
        }

        config.InstanceGroup.Add(new ModelInstanceGroup { Name = o.Name, Count = o.Instances, Kind = ModelInstanceGroup.Types.Kind.Cpu });

        // The latency model, for tools that want to know what they are talking to.
        config.Parameters["simulated"] = Parameter("true");
        if (o.Kind == SimulatedModelKind.Tensor)
        {
            config.Parameters["base_latency_us"] = Parameter(o.BaseLatency.TotalMicroseconds);
            config.Parameters["per_item_latency_us"] = Parameter(o.PerItemLatency.TotalMicroseconds);
            config.Parameters["jitter_us"] = Parameter(o.Jitter.TotalMicroseconds);
        }
        else
        {
            config.Parameters["time_to_first_token_us"] = Parameter(o.TimeToFirstToken.TotalMicroseconds);
            config.Parameters["tokens_per_second"] = Parameter(o.TokensPerSecond);
            config.Parameters["default_max_tokens"] = Parameter(o.DefaultMaxTokens);
        }

        return config;
    }

    private static ModelParameter Parameter(string value) => new() { StringValue = value };

    private static ModelParameter Parameter(double value) => Parameter(value.ToString(CultureInfo.InvariantCulture));

    private static ModelMetadataResponse BuildMetadata(SimulatedModelOptions o)
    {
        var m = new ModelMetadataResponse { Name = o.Name, Platform = Platform };
        m.Versions.Add(ServedVersion);
        foreach (var i in o.Inputs)
        {
            m.Inputs.Add(TensorMetadata(i, o.MaxBatchSize > 0));
        }

        foreach (var t in o.Outputs)
        {
            m.Outputs.Add(TensorMetadata(t, o.MaxBatchSize > 0));
        }

        return m;
    }

    private static ModelMetadataResponse.Types.TensorMetadata TensorMetadata(SimulatedTensorOptions spec, bool batches)
    {
        var t = new ModelMetadataResponse.Types.TensorMetadata { Name = spec.Name, Datatype = spec.DataType.WireName() };
        if (batches)
        {
            t.Shape.Add(-1);
        }

        t.Shape.Add(spec.Dims);
        return t;
    }

    public void Dispose() => Pool?.Dispose();
}
