using System.Globalization;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Llm;

namespace DataPlane.Simulation.Options;

/// <summary>Checks <see cref="SimulationOptions"/> and names each invalid setting by the
/// configuration key <see cref="SimulationOptionsBinder"/> reads it from.</summary>
internal static class SimulationOptionsValidator
{
    /// <summary>Longest latency setting accepted: one hour, so that no arithmetic can overflow.</summary>
    public static readonly TimeSpan MaxLatency = TimeSpan.FromHours(1);

    /// <summary>Most instances of one model: each tensor-model instance is a thread.</summary>
    public const int MaxInstances = 256;

    public static void Validate(SimulationOptions options, string prefix)
    {
        if (options.Models is null)
        {
            throw new SimulationConfigException(prefix + "Models", "missing");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < options.Models.Count; i++)
        {
            string p = $"{prefix}Models:{i}:";
            var model = options.Models[i] ?? throw new SimulationConfigException($"{prefix}Models:{i}", "missing");
            if (string.IsNullOrWhiteSpace(model.Name))
            {
                throw new SimulationConfigException(p + "Name", "missing; every model needs a name");
            }

            if (!seen.TryAdd(model.Name, i))
            {
                throw new SimulationConfigException(p + "Name",
                    $"duplicate model name '{model.Name}' (also {prefix}Models:{seen[model.Name]}:Name); model names must be unique");
            }

            ValidateModel(model, p);
        }

        ValidateServer(options, prefix, seen);
    }

    private static void ValidateServer(SimulationOptions options, string prefix, Dictionary<string, int> models)
    {
        if (string.IsNullOrWhiteSpace(options.ServerVersion))
        {
            throw new SimulationConfigException(prefix + "ServerVersion", "missing; ServerMetadata reports a version such as " + SimulationOptions.TritonVersion);
        }

        if (!Enum.IsDefined(options.ModelControl))
        {
            throw new SimulationConfigException(prefix + "ModelControl", $"unknown mode {(int)options.ModelControl}; expected none or explicit");
        }

        if (string.IsNullOrWhiteSpace(options.SharedMemoryDirectory))
        {
            throw new SimulationConfigException(prefix + "SharedMemoryDirectory", "missing; shared-memory keys are opened there (e.g. /dev/shm)");
        }

        var load = options.LoadModels ?? throw new SimulationConfigException(prefix + "LoadModels", "missing");
        if (load.Count == 0)
        {
            return;
        }

        if (options.ModelControl != SimulatedModelControl.Explicit)
        {
            // Triton: "Use of '--load-model' requires setting '--model-control-mode=explicit' as well."
            throw new SimulationConfigException(prefix + "LoadModels", "naming models to load requires ModelControl explicit (as Triton's --load-model does)");
        }

        if (load.Contains(SimulationOptions.AllModels) && load.Count > 1)
        {
            throw new SimulationConfigException(prefix + "LoadModels", "'*' loads every model and must be the only entry");
        }

        foreach (string name in load)
        {
            if (name != SimulationOptions.AllModels && !models.ContainsKey(name))
            {
                throw new SimulationConfigException(prefix + "LoadModels", $"'{name}' is not a model of the repository; the models are {string.Join(", ", models.Keys)}");
            }
        }
    }

    private static void ValidateModel(SimulatedModelOptions model, string p)
    {
        if (!Enum.IsDefined(model.Kind))
        {
            throw new SimulationConfigException(p + "Kind", $"unknown kind {(int)model.Kind}; expected Tensor, Llm or Sequence");
        }

        if (model.MaxBatchSize < 0)
        {
            throw new SimulationConfigException(p + "MaxBatchSize", $"{model.MaxBatchSize} is negative; use 0 for a model without a batch dimension");
        }

        if (model.Instances < 1)
        {
            throw new SimulationConfigException(p + "Instances", $"{model.Instances} is less than 1; a model needs at least one instance");
        }

        if (model.Instances > MaxInstances)
        {
            throw new SimulationConfigException(p + "Instances", $"{model.Instances} is more than the limit of {MaxInstances} (each instance is a thread)");
        }

        CheckLatency(p + "BaseLatencyMs", model.BaseLatency);
        CheckLatency(p + "PerItemLatencyMs", model.PerItemLatency);
        CheckLatency(p + "JitterMs", model.Jitter);
        CheckLatency(p + "TimeToFirstTokenMs", model.TimeToFirstToken);
        CheckLatency(p + "MaxSequenceIdleMs", model.MaxSequenceIdle);
        if (model.MaxSequenceIdle <= TimeSpan.Zero)
        {
            throw new SimulationConfigException(p + "MaxSequenceIdleMs", "must be more than zero (Triton's default is 1000 ms)");
        }

        if (!double.IsFinite(model.TokensPerSecond) || model.TokensPerSecond <= 0)
        {
            throw new SimulationConfigException(p + "TokensPerSecond",
                $"{model.TokensPerSecond.ToString(CultureInfo.InvariantCulture)} is not a positive number; tokens per second must be more than zero");
        }

        if (model.DefaultMaxTokens < 1)
        {
            throw new SimulationConfigException(p + "DefaultMaxTokens", $"{model.DefaultMaxTokens} is less than 1; a request generates at least one token");
        }

        ValidateTensors(model.Inputs, p + "Inputs", isOutput: false);
        ValidateTensors(model.Outputs, p + "Outputs", isOutput: true);
        switch (model.Kind)
        {
            case SimulatedModelKind.Tensor:
                ValidateTensorModel(model, p);
                break;
            case SimulatedModelKind.Llm:
                ValidateLlmModel(model, p);
                break;
            default:
                ValidateSequenceModel(model, p);
                break;
        }
    }

    private static void ValidateSequenceModel(SimulatedModelOptions model, string p)
    {
        if (model.Inputs.Count != 1 || model.Inputs[0].DataType != TensorDataType.Int32 || !model.Inputs[0].Dims.SequenceEqual([1L]) || model.Inputs[0].Optional)
        {
            throw new SimulationConfigException(p + "Inputs", "a Sequence model has exactly one input, INT32 with dims [1] (the value added to the running sum)");
        }

        if (model.Outputs.Count != 1 || model.Outputs[0].DataType != TensorDataType.Int32 || !model.Outputs[0].Dims.SequenceEqual([1L]))
        {
            throw new SimulationConfigException(p + "Outputs", "a Sequence model has exactly one output, INT32 with dims [1] (the running sum)");
        }
    }

    private static void ValidateTensorModel(SimulatedModelOptions model, string p)
    {
        if (model.Inputs.Count == 0)
        {
            throw new SimulationConfigException(p + "Inputs", "missing; a Tensor model needs at least one input");
        }

        if (model.Outputs.Count == 0)
        {
            throw new SimulationConfigException(p + "Outputs", "missing; a Tensor model needs at least one output");
        }

        if (model.Outputs.Count > model.Inputs.Count)
        {
            throw new SimulationConfigException(p + "Outputs",
                $"{model.Outputs.Count} outputs but only {model.Inputs.Count} inputs; the simulation computes output k from input k");
        }

        for (int k = 0; k < model.Outputs.Count; k++)
        {
            var input = model.Inputs[k];
            var output = model.Outputs[k];
            string key = $"{p}Outputs:{k}";
            if (output.DataType != input.DataType)
            {
                throw new SimulationConfigException(key + ":DataType",
                    $"{output.DataType.WireName()} differs from input {k} ('{input.Name}', {input.DataType.WireName()}); " +
                    "the simulation computes output k from input k, so their datatypes must match");
            }

            if (!output.Dims.SequenceEqual(input.Dims))
            {
                throw new SimulationConfigException(key + ":Dims",
                    $"{TensorShape.Format(output.Dims)} differs from input {k} ('{input.Name}', {TensorShape.Format(input.Dims)}); " +
                    "the simulation computes output k from input k, so their dims must match");
            }

            if (input.Optional)
            {
                throw new SimulationConfigException($"{p}Inputs:{k}:Optional",
                    $"input '{input.Name}' feeds output '{output.Name}' and cannot be optional");
            }
        }
    }

    private static void ValidateLlmModel(SimulatedModelOptions model, string p)
    {
        if (model.MaxBatchSize != 0)
        {
            throw new SimulationConfigException(p + "MaxBatchSize", $"{model.MaxBatchSize}: an Llm model takes no batch dimension; use 0");
        }

        bool hasText = false;
        for (int i = 0; i < model.Inputs.Count; i++)
        {
            var t = model.Inputs[i];
            string key = $"{p}Inputs:{i}";
            var (expected, optionalAllowed) = t.Name switch
            {
                SimulatedLlm.TextInput => (TensorDataType.Bytes, false),
                SimulatedLlm.MaxTokensInput => (TensorDataType.Int32, true),
                _ => throw new SimulationConfigException(key + ":Name",
                    $"'{t.Name}': an Llm model takes only '{SimulatedLlm.TextInput}' and '{SimulatedLlm.MaxTokensInput}'"),
            };
            CheckLlmTensor(t, key, expected);
            if (t.Optional && !optionalAllowed)
            {
                throw new SimulationConfigException(key + ":Optional", $"'{t.Name}' carries the prompt and cannot be optional");
            }

            hasText |= t.Name == SimulatedLlm.TextInput;
        }

        if (!hasText)
        {
            throw new SimulationConfigException(p + "Inputs", $"an Llm model needs the input '{SimulatedLlm.TextInput}' (BYTES)");
        }

        if (model.Outputs.Count != 1 || model.Outputs[0].Name != SimulatedLlm.TextOutput)
        {
            throw new SimulationConfigException(p + "Outputs", $"an Llm model has exactly one output, '{SimulatedLlm.TextOutput}' (BYTES)");
        }

        CheckLlmTensor(model.Outputs[0], p + "Outputs:0", TensorDataType.Bytes);
    }

    private static void CheckLlmTensor(SimulatedTensorOptions t, string key, TensorDataType expected)
    {
        if (t.DataType != expected)
        {
            throw new SimulationConfigException(key + ":DataType", $"'{t.Name}' of an Llm model is {expected.WireName()}, not {t.DataType.WireName()}");
        }

        if (t.Dims.Count != 1)
        {
            throw new SimulationConfigException(key + ":Dims", $"'{t.Name}' of an Llm model has dims [1] (or [-1]), not {TensorShape.Format(t.Dims)}");
        }
    }

    private static void ValidateTensors(IReadOnlyList<SimulatedTensorOptions> tensors, string key, bool isOutput)
    {
        if (tensors is null)
        {
            throw new SimulationConfigException(key, "missing");
        }

        for (int i = 0; i < tensors.Count; i++)
        {
            string p = $"{key}:{i}:";
            var t = tensors[i] ?? throw new SimulationConfigException($"{key}:{i}", "missing");
            if (string.IsNullOrWhiteSpace(t.Name))
            {
                throw new SimulationConfigException(p + "Name", "missing; every tensor needs a name");
            }

            for (int j = 0; j < i; j++)
            {
                if (tensors[j].Name == t.Name)
                {
                    throw new SimulationConfigException(p + "Name", $"duplicate tensor name '{t.Name}' (also {key}:{j}:Name)");
                }
            }

            if (t.DataType == TensorDataType.Invalid || !Enum.IsDefined(t.DataType))
            {
                throw new SimulationConfigException(p + "DataType", $"missing or invalid datatype; expected one of {SimulationOptionsBinder.DataTypeNames}");
            }

            if (t.Dims is null)
            {
                throw new SimulationConfigException(p + "Dims", "missing");
            }

            for (int d = 0; d < t.Dims.Count; d++)
            {
                if (t.Dims[d] < 1 && t.Dims[d] != -1)
                {
                    throw new SimulationConfigException(p + "Dims",
                        $"{TensorShape.Format(t.Dims)} has dimension {t.Dims[d]} at index {d}; dimensions are 1 or more, or -1 for any size");
                }
            }

            if (isOutput && t.Optional)
            {
                throw new SimulationConfigException(p + "Optional", "outputs cannot be optional");
            }
        }
    }

    private static void CheckLatency(string key, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            throw new SimulationConfigException(key,
                $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms is negative; latencies are zero or more");
        }

        if (value > MaxLatency)
        {
            throw new SimulationConfigException(key,
                $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms is more than the limit of one hour");
        }
    }
}
