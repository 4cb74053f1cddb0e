using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation;

public sealed partial class SimulatedTritonService
{
    /// <summary>Tensor limits of the simulation: none below what one gRPC message (2 GiB − 1) can carry.</summary>
    private static readonly TensorLimits s_limits = new()
    {
        MaxTensors = 4096,
        MaxElementsPerTensor = int.MaxValue,
        MaxBytesPerTensor = int.MaxValue,
        MaxBytesElementLength = int.MaxValue,
    };

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        long arrival = PreciseTimer.Now;
        _triton.TraceParents.Record(context.RequestHeaders.GetValue("traceparent"));
        var error = Admit(request, streaming: false, arrival, out var admission, out _);
        if (error is { } e)
        {
            Log.Rejected(_logger, request.ModelName, StatusName(e.Code), e.Message);
            throw e.ToException();
        }

        using (admission)
        {
            var outcome = await ExecuteAsync(admission!, context.CancellationToken, context.Deadline).ConfigureAwait(false);
            if (outcome.Error is { } failure)
            {
                Log.Rejected(_logger, request.ModelName, StatusName(failure.Code), failure.Message);
                throw failure.ToException();
            }

            return outcome.Response!;
        }
    }

    /// <summary>Everything checked before a request executes, in Triton's order: the model and version, the
    /// transaction policy (decoupled models only on streams), the request parameters, the inputs (raw, typed or in
    /// shared memory), the requested outputs' shared-memory windows, the model's declaration and, for sequence
    /// models, the sequence batcher's rules (which queue the step). Errors here are not counted in the statistics,
    /// as Triton's synchronous errors are not. <paramref name="decoupled"/> tells whether the model was found and is
    /// decoupled.</summary>
    private RequestError? Admit(ModelInferRequest request, bool streaming, long arrival, out Admission? admission, out bool decoupled)
    {
        admission = null;
        var error = _triton.TryGetModel(request.ModelName, request.ModelVersion, enter: true, out var model);
        decoupled = model?.Decoupled ?? false;
        if (error != null)
        {
            return error;
        }

        var admitted = new Admission(model!, request, arrival);
        error = admitted.Model.Decoupled && !streaming
            ? new RequestError(StatusCode.Unimplemented, TritonErrors.DecoupledModelInfer)
            : RequestParameters.TryRead(request.Parameters, out admitted.Parameters);
        error ??= ReadInputs(request, out admitted.Inputs);
        error ??= LeaseOutputs(admitted);
        error ??= admitted.Model.Signature.Validate(request, admitted.Inputs, out admitted.Rows);
        if (error == null && admitted.Model.Sequences is { } sequences)
        {
            error = admitted.Rows > 1
                ? FromException(TritonErrors.SequenceBatchSize(admitted.Model.Name))
                : sequences.TryEnqueue(admitted.Parameters.Sequence, FirstInt32(admitted.Inputs[0]), out admitted.SequenceStep);
        }

        if (error != null)
        {
            admitted.Dispose();
            return error;
        }

        admitted.InputNs = PreciseTimer.Now - arrival;
        admission = admitted;
        return null;
    }

    /// <summary>The inputs of a request; none at all is left to the declaration check (Triton's count message).</summary>
    private RequestError? ReadInputs(ModelInferRequest request, out Tensor[] inputs)
    {
        inputs = [];
        return request.Inputs.Count == 0 ? null : TensorReader.TryReadInputs(request, s_limits, _triton.SharedMemory, out inputs, out _);
    }

    /// <summary>Checks the shared-memory parameters of the requested outputs and takes a lease on each window.</summary>
    private RequestError? LeaseOutputs(Admission admission)
    {
        foreach (var output in admission.Request.Outputs)
        {
            var error = SharedMemoryLocation.TryParse(TritonErrors.Echo(output.Name), output.Parameters, out var location);
            if (error != null)
            {
                return error;
            }

            if (location is not { } at)
            {
                continue;
            }

            if (output.Parameters.ContainsKey("classification"))
            {
                return SharedMemoryLocation.ClassificationConflict();
            }

            error = _triton.SharedMemory.TryLease(at, out var lease);
            if (error != null)
            {
                return error;
            }

            admission.Leases ??= new Dictionary<string, SharedMemoryRegions.Lease>(StringComparer.Ordinal);
            if (!admission.Leases.TryAdd(output.Name, lease!))
            {
                // A duplicate output is refused by the declaration check; keep only the first lease.
                lease!.Dispose();
            }
        }

        return null;
    }

    private static RequestError FromException(RpcException e) => new(e.StatusCode, e.Status.Detail);

    private static int FirstInt32(Tensor tensor) => tensor.Raw.Length >= sizeof(int) ? BinaryPrimitives.ReadInt32LittleEndian(tensor.Raw.Span) : 0;

    /// <summary>Runs an admitted tensor or sequence request and builds its response: the outputs' bytes go into the
    /// requested shared-memory windows or into <c>raw_output_contents</c>. Counts the request in the statistics.</summary>
    private static async Task<Outcome> ExecuteAsync(Admission admission, CancellationToken cancellationToken, DateTime deadline)
    {
        var model = admission.Model;
        var request = admission.Request;
        ExecutionResult executed;
        (string Name, TensorDataType Type, Google.Protobuf.Collections.RepeatedField<long> Shape)[] outputs;
        try
        {
            if (admission.SequenceStep is { } step)
            {
                executed = await step.WaitAsync(cancellationToken).ConfigureAwait(false);
                var input = admission.Inputs[0];
                outputs = [(model.Options.Outputs[0].Name, TensorDataType.Int32, input.Shape)];
            }
            else
            {
                var plan = model.Plan(request, admission.Inputs);
                executed = await model.Pool!.ExecuteAsync(plan, admission.Rows, cancellationToken).ConfigureAwait(false);
                outputs = Array.ConvertAll(plan, p => (p.Spec.Name, p.Source.DataType, p.Source.Shape));
            }
        }
        catch (OperationCanceledException)
        {
            model.Statistics.Failed(PreciseTimer.Now - admission.Arrival);
            var code = deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled;
            return new Outcome(null, new RequestError(code, $"request for model '{TritonErrors.Echo(model.Name)}' was cancelled before it executed"));
        }
        catch (ObjectDisposedException)
        {
            model.Statistics.Failed(PreciseTimer.Now - admission.Arrival);
            return new Outcome(null, new RequestError(StatusCode.Unavailable, TritonErrors.ServerNotReady));
        }
        catch (ArgumentException e)
        {
            model.Statistics.Failed(PreciseTimer.Now - admission.Arrival);
            return new Outcome(null, new RequestError(StatusCode.Internal, e.Message));
        }

        long outputStart = PreciseTimer.Now;
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = SimulatedModel.ServedVersion, Id = request.Id };
        for (int i = 0; i < outputs.Length; i++)
        {
            var (name, type, shape) = outputs[i];
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = type.WireName() };
            tensor.Shape.Add(shape);
            response.Outputs.Add(tensor);
            if (admission.Leases is { } leases && leases.TryGetValue(name, out var lease))
            {
                if (lease.TryWrite(name, executed.Outputs[i]) is { } tooSmall)
                {
                    model.Statistics.Failed(PreciseTimer.Now - admission.Arrival);
                    return new Outcome(null, tooSmall);
                }

                response.RawOutputContents.Add(ByteString.Empty);
            }
            else
            {
                response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(executed.Outputs[i]));
            }
        }

        long end = PreciseTimer.Now;
        model.Statistics.Succeeded(end - admission.Arrival, executed.QueueNs, admission.InputNs, executed.ComputeNs, end - outputStart);
        return new Outcome(response, null);
    }

    /// <summary>The response of a request, or the error it failed with after admission.</summary>
    private readonly record struct Outcome(ModelInferResponse? Response, RequestError? Error);

    /// <summary>A request that passed every check: it holds an in-flight reference on its model and leases on its
    /// output windows until disposed.</summary>
    private sealed class Admission(SimulatedModel model, ModelInferRequest request, long arrival) : IDisposable
    {
        private int _disposed;

        public SimulatedModel Model { get; } = model;

        public ModelInferRequest Request { get; } = request;

        public long Arrival { get; } = arrival;

        /// <summary>Nanoseconds from arrival to the end of the checks (compute_input).</summary>
        public long InputNs { get; set; }

        public RequestParameters Parameters;

        public Tensor[] Inputs = [];

        public long Rows = 1;

        /// <summary>Output windows in shared memory, by output name.</summary>
        public Dictionary<string, SharedMemoryRegions.Lease>? Leases;

        /// <summary>The queued step of a sequence model.</summary>
        public Task<ExecutionResult>? SequenceStep;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            if (Leases is { } leases)
            {
                foreach (var lease in leases.Values)
                {
                    lease.Dispose();
                }
            }

            Model.Exit();
        }
    }
}
