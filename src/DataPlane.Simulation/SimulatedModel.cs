using System.Globalization;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Models;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Sequences;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>One loaded simulated model (version 1): its options, the configuration and metadata it reports, the
/// request checks that follow from its declaration (<see cref="ModelSignature"/>), its statistics, its executors
/// (tensor and sequence models) and its sequence batcher (sequence models). Loading a model again creates a new
/// instance, so statistics and sequences start afresh, as in Triton.</summary>
internal sealed class SimulatedModel : IDisposable
{
    /// <summary>The only version a simulated model serves.</summary>
    public const string ServedVersion = "1";

    /// <summary><see cref="ServedVersion"/> as a number.</summary>
    public const long ServedVersionNumber = 1;

    /// <summary>Platform and backend reported by ModelConfig and ModelMetadata.</summary>
    public const string Platform = "simulation";

    private readonly ModelConfig _config;
    private readonly ModelMetadataResponse _metadata;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private bool _retiring;

    public SimulatedModel(SimulatedModelOptions options, TimeProvider time, ILogger logger)
    {
        Options = options;
        Statistics = new SimulatedModelStatistics(time);
        Signature = new ModelSignature(options.Name, options.MaxBatchSize,
            options.Inputs.Select(i => new TensorSpec(i.Name, i.DataType, [.. i.Dims], i.Optional)).ToArray(),
            options.Outputs.Select(o => new TensorSpec(o.Name, o.DataType, [.. o.Dims], false)).ToArray());
        _config = BuildConfig(options);
        _metadata = BuildMetadata(options);
        Pool = options.Kind != SimulatedModelKind.Llm ? new ExecutorPool(options, Statistics) : null;
        Sequences = options.Kind == SimulatedModelKind.Sequence ? new SequenceBatcher(options, Pool!, time, logger) : null;
    }

    public SimulatedModelOptions Options { get; }

    public string Name => Options.Name;

    /// <summary>LLM models are decoupled: zero or many responses per request, ModelStreamInfer only.</summary>
    public bool Decoupled => Options.Kind == SimulatedModelKind.Llm;

    /// <summary>What the model accepts, with Triton's checks and texts.</summary>
    public ModelSignature Signature { get; }

    public SimulatedModelStatistics Statistics { get; }

    /// <summary>The executors of a tensor or sequence model; null for LLM models.</summary>
    public ExecutorPool? Pool { get; }

    /// <summary>The sequence batcher of a sequence model; null otherwise.</summary>
    public SequenceBatcher? Sequences { get; }

    /// <summary>A copy of the model's configuration, as ModelConfig reports it.</summary>
    public ModelConfig Config() => _config.Clone();

    /// <summary>A copy of the model's metadata (batch dimension shown as -1).</summary>
    public ModelMetadataResponse Metadata() => _metadata.Clone();

    /// <summary>Takes an in-flight reference for one request; false once the model is being unloaded.</summary>
    public bool TryEnter()
    {
        lock (_gate)
        {
            if (_retiring)
            {
                return false;
            }

            _inFlight++;
            return true;
        }
    }

    /// <summary>Releases the reference <see cref="TryEnter"/> took.</summary>
    public void Exit()
    {
        lock (_gate)
        {
            if (--_inFlight == 0 && _retiring)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>Refuses new requests and completes once the requests in flight have finished.</summary>
    public Task RetireAsync()
    {
        lock (_gate)
        {
            _retiring = true;
            if (_inFlight == 0)
            {
                _drained.TrySetResult();
            }
        }

        return _drained.Task;
    }

    /// <summary>The outputs to compute for a tensor model: those requested, in request order, or all in declaration
    /// order; output <c>k</c> from input <c>k</c>.</summary>
    public PlannedOutput[] Plan(ModelInferRequest request, Tensor[] inputs)
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
        if (o.Kind == SimulatedModelKind.Sequence)
        {
            config.SequenceBatching = SequenceBatching(o);
        }

        // The latency model, for tools that want to know what they are talking to.
        config.Parameters["simulated"] = Parameter("true");
        if (o.Kind != SimulatedModelKind.Llm)
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

    /// <summary>The direct sequence batcher with the control inputs of Triton's sequence examples.</summary>
    private static ModelSequenceBatching SequenceBatching(SimulatedModelOptions o)
    {
        var batching = new ModelSequenceBatching
        {
            MaxSequenceIdleMicroseconds = (ulong)o.MaxSequenceIdle.TotalMicroseconds,
            Direct = new ModelSequenceBatching.Types.StrategyDirect(),
        };
        foreach (var (name, kind) in new[]
        {
            ("START", ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceStart),
            ("END", ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceEnd),
            ("READY", ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceReady),
        })
        {
            var control = new ModelSequenceBatching.Types.Control { Kind = kind };
            control.Int32FalseTrue.Add([0, 1]);
            var input = new ModelSequenceBatching.Types.ControlInput { Name = name };
            input.Control.Add(control);
            batching.ControlInput.Add(input);
        }

        return batching;
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

    public void Dispose()
    {
        Sequences?.Dispose();
        Pool?.Dispose();
    }
}
