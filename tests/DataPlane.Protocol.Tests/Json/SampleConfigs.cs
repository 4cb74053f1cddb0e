using DataPlane.Protocol.Inference;
using Google.Protobuf;

namespace DataPlane.Protocol.Tests.Json;

/// <summary>Model configurations for the JSON tests.</summary>
internal static class SampleConfigs
{
    /// <summary>2^53 + 1: not representable as a double, so a JSON number that went through a
    /// double would come back as 2^53.</summary>
    public const long BeyondDouble = 9007199254740993;

    /// <summary>Triton's example model `simple` (docs/examples/model_repository/simple).</summary>
    public static ModelConfig Simple()
    {
        var config = new ModelConfig
        {
            Name = "simple",
            Platform = "tensorflow_graphdef",
            MaxBatchSize = 8,
            ModelTransactionPolicy = new ModelTransactionPolicy { Decoupled = false },
        };
        foreach (string name in new[] { "INPUT0", "INPUT1" })
        {
            config.Input.Add(new ModelInput { Name = name, DataType = DataType.TypeInt32, Dims = { 16 } });
        }

        foreach (string name in new[] { "OUTPUT0", "OUTPUT1" })
        {
            config.Output.Add(new ModelOutput { Name = name, DataType = DataType.TypeInt32, Dims = { 16 } });
        }

        return config;
    }

    /// <summary>A configuration that sets something in every message ModelConfig contains
    /// (dynamic batching in the oneof).</summary>
    public static ModelConfig Rich()
    {
        var config = new ModelConfig
        {
            Name = "rich",
            Platform = "",
            Backend = "python",
            Runtime = "model.py",
            VersionPolicy = new ModelVersionPolicy { Specific = new() { Versions = { 1, BeyondDouble, -1 } } },
            MaxBatchSize = 0,
            DefaultModelFilename = "model.plan",
            CcModelFilenames = { ["7.5"] = "model_t4.plan", ["9.0"] = "model_h100.plan" },
            MetricTags = { ["team"] = "search" },
            Parameters = { ["EXECUTION_ENV_PATH"] = new ModelParameter { StringValue = "$$TRITON_MODEL_DIRECTORY/env.tar.gz" }, ["empty"] = new ModelParameter() },
            ModelOperations = new ModelOperations { OpLibraryFilename = { "libcustom.so" } },
            ModelTransactionPolicy = new ModelTransactionPolicy { Decoupled = true },
            ModelRepositoryAgents = new ModelRepositoryAgents { Agents = { new ModelRepositoryAgents.Types.Agent { Name = "checksum", Parameters = { ["MD5:model.plan"] = "d41d8cd98f00b204e9800998ecf8427e" } } } },
            ResponseCache = new ModelResponseCache { Enable = true },
            ModelMetrics = new ModelMetrics
            {
                MetricControl =
                {
                    new ModelMetrics.Types.MetricControl
                    {
                        MetricIdentifier = new() { Family = "nv_inference_first_response_histogram_ms" },
                        HistogramOptions = new() { Buckets = { 0.005, 2.5, 100, 1e21 } },
                    },
                },
            },
            Optimization = new ModelOptimizationPolicy
            {
                Graph = new() { Level = -1 },
                Priority = ModelOptimizationPolicy.Types.ModelPriority.PriorityMax,
                Cuda = new()
                {
                    Graphs = true,
                    BusyWaitEvents = false,
                    OutputCopyStream = true,
                    GraphSpec =
                    {
                        new ModelOptimizationPolicy.Types.Cuda.Types.GraphSpec
                        {
                            BatchSize = 4,
                            Input = { ["INPUT0"] = new() { Dim = { 16, BeyondDouble } } },
                            GraphLowerBound = new() { BatchSize = 1, Input = { ["INPUT0"] = new() { Dim = { 1 } } } },
                        },
                    },
                },
                ExecutionAccelerators = new()
                {
                    GpuExecutionAccelerator = { new ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator { Name = "tensorrt", Parameters = { ["precision_mode"] = "FP16" } } },
                },
                InputPinnedMemory = new() { Enable = true },
                OutputPinnedMemory = new() { Enable = false },
                GatherKernelBufferThreshold = uint.MaxValue,
                EagerBatching = true,
            },
            DynamicBatching = new ModelDynamicBatching
            {
                PreferredBatchSize = { 4, 8 },
                MaxQueueDelayMicroseconds = ulong.MaxValue,
                PreserveOrdering = true,
                PriorityLevels = 2,
                DefaultPriorityLevel = 2,
                DefaultQueuePolicy = new() { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Delay, DefaultTimeoutMicroseconds = 100, MaxQueueSize = 16 },
                PriorityQueuePolicy =
                {
                    [1] = new() { AllowTimeoutOverride = true, DefaultTimeoutMicroseconds = (ulong)BeyondDouble },
                    [1UL << 60] = new(),
                },
            },
        };
        config.Input.Add(new ModelInput
        {
            Name = "INPUT0",
            DataType = DataType.TypeFp16,
            Format = ModelInput.Types.Format.Nchw,
            Dims = { -1, 3, 224, 224 },
            Reshape = new() { Shape = { 3, 50176 } },
            IsShapeTensor = false,
            AllowRaggedBatch = true,
            Optional = true,
            IsNonLinearFormatIo = true,
        });
        config.Input.Add(new ModelInput { Name = "", DataType = (DataType)99 });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeString, Dims = { -1 }, LabelFilename = "labels.txt", Reshape = new() });
        config.BatchInput.Add(new BatchInput { Kind = BatchInput.Types.Kind.BatchItemShapeFlatten, TargetName = { "I0_SHAPE" }, DataType = DataType.TypeInt64, SourceInput = { "INPUT0" } });
        config.BatchOutput.Add(new BatchOutput { TargetName = { "OUTPUT0" }, Kind = BatchOutput.Types.Kind.BatchScatterWithInputShape, SourceInput = { "INPUT0" } });
        config.InstanceGroup.Add(new ModelInstanceGroup
        {
            Name = "g0",
            Kind = ModelInstanceGroup.Types.Kind.Gpu,
            Count = 2,
            Gpus = { 0, 1 },
            RateLimiter = new() { Resources = { new ModelRateLimiter.Types.Resource { Name = "R1", Global = true, Count = 4 } }, Priority = 2 },
            SecondaryDevices = { new ModelInstanceGroup.Types.SecondaryDevice { Kind = ModelInstanceGroup.Types.SecondaryDevice.Types.SecondaryDeviceKind.KindNvdla, DeviceId = BeyondDouble } },
            Profile = { "0", "1" },
            Passive = true,
            HostPolicy = "numa0",
        });
        config.ModelWarmup.Add(new ModelWarmup
        {
            Name = "zeros",
            BatchSize = 1,
            Count = 3,
            Inputs =
            {
                ["INPUT0"] = new() { DataType = DataType.TypeFp32, Dims = { 3, 224 }, ZeroData = false },
                ["INPUT1"] = new() { DataType = DataType.TypeString, Dims = { 1 }, InputDataFile = "raw.bin" },
            },
        });
        return config;
    }

    /// <summary>A stateful configuration: sequence batching with controls and state.</summary>
    public static ModelConfig Sequence()
    {
        var control = new ModelSequenceBatching.Types.Control
        {
            Kind = ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceCorrid,
            Int32FalseTrue = { 0, 1 },
            Fp32FalseTrue = { 0f, 1f, 0.1f, 1f / 3, 1e6f, 1e-7f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -2.5f },
            BoolFalseTrue = { false, true },
            DataType = DataType.TypeUint64,
        };
        var state = new ModelSequenceBatching.Types.State
        {
            InputName = "INPUT_STATE",
            OutputName = "OUTPUT_STATE",
            DataType = DataType.TypeInt32,
            Dims = { -1 },
            InitialState = { new ModelSequenceBatching.Types.InitialState { Name = "zeros", DataType = DataType.TypeInt32, Dims = { 1, BeyondDouble }, ZeroData = false } },
            UseSameBufferForInputOutput = true,
            UseGrowableMemory = true,
        };
        return new ModelConfig
        {
            Name = "seq",
            Backend = "onnxruntime",
            SequenceBatching = new ModelSequenceBatching
            {
                MaxSequenceIdleMicroseconds = 5_000_000,
                ControlInput = { new ModelSequenceBatching.Types.ControlInput { Name = "CORRID", Control = { control } } },
                State = { state },
                Oldest = new() { MaxCandidateSequences = 4, PreferredBatchSize = { 2 }, MaxQueueDelayMicroseconds = 10, PreserveOrdering = true },
                IterativeSequence = true,
            },
        };
    }

    /// <summary>An ensemble configuration.</summary>
    public static ModelConfig Ensemble() => new()
    {
        Name = "pipeline",
        Platform = "ensemble",
        MaxBatchSize = 4,
        EnsembleScheduling = new ModelEnsembling
        {
            MaxInflightRequests = 8,
            Step =
            {
                new ModelEnsembling.Types.Step { ModelName = "pre", ModelVersion = -1, InputMap = { ["IN"] = "RAW" }, OutputMap = { ["OUT"] = "pre_out" }, ModelNamespace = "" },
                new ModelEnsembling.Types.Step { ModelName = "net", ModelVersion = BeyondDouble, InputMap = { ["INPUT0"] = "pre_out" }, OutputMap = { ["OUTPUT0"] = "RESULT" } },
            },
        },
        VersionPolicy = new ModelVersionPolicy { All = new() },
    };

    /// <summary>A message with bytes, doubles and a map of oneof values.</summary>
    public static ModelInferRequest Request()
    {
        var request = new ModelInferRequest
        {
            ModelName = "m",
            Parameters =
            {
                ["sequence_id"] = new InferParameter { Uint64Param = ulong.MaxValue },
                ["priority"] = new InferParameter { Int64Param = long.MinValue },
                ["flag"] = new InferParameter { BoolParam = false },
                ["ratio"] = new InferParameter { DoubleParam = 0.1 },
                ["note"] = new InferParameter { StringParam = "" },
            },
            RawInputContents = { ByteString.CopyFrom(0, 1, 2, 0xFF, 0xFE), ByteString.Empty, ByteString.CopyFromUtf8("ab?>") },
        };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor
        {
            Name = "T",
            Datatype = "FP64",
            Shape = { 4 },
            Contents = new InferTensorContents
            {
                Fp64Contents = { 0.30000000000000004, -0.0, double.MaxValue, double.Epsilon },
                BoolContents = { true, false },
                UintContents = { uint.MaxValue },
                Uint64Contents = { ulong.MaxValue },
                BytesContents = { ByteString.CopyFromUtf8("x") },
            },
        });
        return request;
    }
}
