using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Protocol.Models;

/// <summary>A tensor a model declares: datatype and dims (without the batch dimension when the
/// model batches; -1 = any size).</summary>
public sealed record TensorSpec(string Name, TensorDataType DataType, long[] Dims, bool Optional);

/// <summary>What a model accepts, and the checks Triton's core makes of a request against it, with Triton's texts
/// (<c>[request id: …] </c> prefixes where Triton puts them): input count and names, datatypes, shapes with the
/// batch dimension, batch size limits and the requested outputs. Shared by the daemon and the simulated Triton so
/// both answer a bad request the same way.</summary>
public sealed class ModelSignature
{
    public ModelSignature(string name, int maxBatchSize, IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        Name = name;
        MaxBatchSize = Math.Max(0, maxBatchSize);
        Inputs = inputs;
        Outputs = outputs;
        foreach (var spec in inputs)
        {
            _requiredInputs += spec.Optional ? 0 : 1;
        }
    }

    /// <summary>Inputs a request must send (the non-optional ones), counted once.</summary>
    private readonly int _requiredInputs;

    /// <summary>The signature declared by a Triton model configuration.</summary>
    public static ModelSignature FromConfig(ModelConfig config) => new(config.Name, config.MaxBatchSize,
        config.Input.Select(i => new TensorSpec(i.Name, TensorDataTypes.FromConfig(i.DataType), [.. i.Dims], i.Optional)).ToArray(),
        config.Output.Select(o => new TensorSpec(o.Name, TensorDataTypes.FromConfig(o.DataType), [.. o.Dims], false)).ToArray());

    public string Name { get; }

    /// <summary>0 means the model takes no batch dimension.</summary>
    public int MaxBatchSize { get; }

    public bool Batches => MaxBatchSize > 0;

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>Checks a request whose tensors are valid on their own (<see cref="TensorReader"/>) against the
    /// declaration and computes its batch size (1 for models without batching). Null when it may run.</summary>
    public RequestError? Validate(ModelInferRequest request, Tensor[] inputs, out long rows)
    {
        rows = 1;
        string prefix = TritonErrors.RequestPrefix(request.Id);
        string model = TritonErrors.Echo(Name);
        if (inputs.Length > Inputs.Count || inputs.Length < _requiredInputs)
        {
            return RequestError.Invalid(prefix + CountProblem(inputs));
        }

        long batch = -1;
        foreach (var tensor in inputs)
        {
            string input = TritonErrors.Echo(tensor.Name);
            var spec = Find(Inputs, tensor.Name);
            if (spec == null)
            {
                return RequestError.Invalid($"unexpected inference input '{input}' for model '{model}'");
            }

            if (spec.DataType != tensor.DataType)
            {
                return RequestError.Invalid(
                    $"{prefix}inference input '{input}' data-type is '{tensor.DataType.WireName()}', but model '{model}' expects '{spec.DataType.WireName()}'");
            }

            if (Batches)
            {
                if (tensor.Shape.Count == 0)
                {
                    return RequestError.Invalid($"{prefix}input '{input}' has no shape but model requires batch dimension for '{model}'");
                }

                long r = tensor.Shape[0];
                if (batch >= 0 && r != batch)
                {
                    return RequestError.Invalid($"{prefix}input '{input}' batch size does not match other inputs for '{model}'");
                }

                if (r > MaxBatchSize)
                {
                    return RequestError.Invalid($"{prefix}inference request batch-size must be <= {MaxBatchSize} for '{model}'");
                }

                if (r < 1)
                {
                    return RequestError.Invalid($"{prefix}inference request batch-size must be >= 1 for '{model}' (input '{input}' has {r})");
                }

                batch = r;
            }

            if (!TensorShape.Matches(tensor.Shape, Batches ? 1 : 0, spec.Dims))
            {
                string expected = TensorShape.Format(Batches ? [-1, .. spec.Dims] : spec.Dims);
                string note = Batches
                    ? "NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each input shape. " +
                      "If you want to specify the full shape including the batch dim in your input dims config, try setting max_batch_size to zero. " +
                      "See the model configuration docs for more info on max_batch_size."
                    : "";
                return RequestError.Invalid(
                    $"{prefix}unexpected shape for input '{input}' for model '{model}'. Expected {expected}, got {TensorShape.Format(tensor.Shape)}. {note}");
            }
        }

        if (MissesRequiredInput(inputs))
        {
            return RequestError.Invalid(prefix + CountProblem(inputs));
        }

        var outputs = request.Outputs;
        for (int i = 0; i < outputs.Count; i++)
        {
            string name = outputs[i].Name;
            if (Find(Outputs, name) == null)
            {
                return RequestError.Invalid($"unexpected inference output '{TritonErrors.Echo(name)}' for model '{model}'");
            }

            for (int j = 0; j < i; j++)
            {
                if (outputs[j].Name == name)
                {
                    return RequestError.Invalid($"{prefix}output '{TritonErrors.Echo(name)}' already exists in request");
                }
            }
        }

        rows = Batches ? batch : 1;
        return null;
    }

    /// <summary>Triton's input-count message: how many inputs were expected and got, and which required ones are missing.</summary>
    private string CountProblem(Tensor[] inputs)
    {
        int required = 0;
        var missing = new List<string>();
        foreach (var spec in Inputs)
        {
            if (!spec.Optional)
            {
                required++;
                if (Array.FindIndex(inputs, t => t.Name == spec.Name) < 0)
                {
                    missing.Add(spec.Name);
                }
            }
        }

        string got = string.Join(",", inputs.Select(t => $"'{TritonErrors.Echo(t.Name)}'"));
        string need = string.Join(",", missing.Select(n => $"'{n}'"));
        string expected = required == Inputs.Count
            ? $"expected {Inputs.Count} inputs"
            : $"expected number of inputs between {required} and {Inputs.Count}";
        return $"{expected} but got {inputs.Length} inputs for model '{TritonErrors.Echo(Name)}'. Got input(s) [{got}], " +
            $"but missing required input(s) [{need}]. Please provide all required input(s).";
    }

    /// <summary>True when a required input is not among <paramref name="inputs"/> (the loops allocate nothing: this runs
    /// on every request).</summary>
    private bool MissesRequiredInput(Tensor[] inputs)
    {
        for (int i = 0; i < Inputs.Count; i++)
        {
            var spec = Inputs[i];
            if (spec.Optional)
            {
                continue;
            }

            bool found = false;
            for (int j = 0; j < inputs.Length && !found; j++)
            {
                found = inputs[j].Name == spec.Name;
            }

            if (!found)
            {
                return true;
            }
        }

        return false;
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
}
