using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Batching.Tests.Batching;

/// <summary>An upstream that records each batch with the virtual time it was sent and answers only when the test says
/// so (echoing INPUT0 as OUTPUT0). Calls are recorded synchronously, on the thread that sent them, so after a
/// <c>Submit</c> or an <c>Advance</c> returns, every batch that decision sent is already here.</summary>
internal sealed class ClockedUpstream(FakeTimeProvider time) : IInferenceUpstream
{
    private readonly Lock _gate = new();
    private readonly List<ClockedCall> _calls = [];
    private int _inFlight;
    private int _maxInFlight;

    public bool IsAvailable => true;

    public string Describe() => "clocked upstream";

    /// <summary>Every batch sent so far, oldest first.</summary>
    public IReadOnlyList<ClockedCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    public int MaxInFlight
    {
        get
        {
            lock (_gate)
            {
                return _maxInFlight;
            }
        }
    }

    public Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        var call = new ClockedCall(request, time.GetUtcNow(), deadline, Done);
        lock (_gate)
        {
            _calls.Add(call);
            _maxInFlight = Math.Max(_maxInFlight, ++_inFlight);
        }

        return call.Response;
    }

    private void Done()
    {
        lock (_gate)
        {
            _inFlight--;
        }
    }
}

/// <summary>One batch the batcher sent.</summary>
internal sealed class ClockedCall(ModelInferRequest request, DateTimeOffset sentAt, DateTime? deadline, Action done)
{
    private readonly TaskCompletionSource<ModelInferResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ModelInferRequest Request { get; } = request;

    /// <summary>The virtual time the batch left.</summary>
    public DateTimeOffset SentAt { get; } = sentAt;

    /// <summary>The deadline the batcher gave the upstream call.</summary>
    public DateTime? Deadline { get; } = deadline;

    public Task<ModelInferResponse> Response => _response.Task;

    /// <summary>The INT32 value of each row of the batch, in order.</summary>
    public int[] Values
    {
        get
        {
            var raw = Request.RawInputContents[0].Span;
            var values = new int[raw.Length / 4];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BitConverter.ToInt32(raw[(i * 4)..]);
            }

            return values;
        }
    }

    public void Answer()
    {
        done();
        var response = new ModelInferResponse { ModelName = Request.ModelName, ModelVersion = "1", Id = Request.Id };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUTPUT0", Datatype = "INT32", Shape = { Request.Inputs[0].Shape } });
        response.RawOutputContents.Add(ByteString.CopyFrom(Request.RawInputContents[0].Span));
        _response.SetResult(response);
    }

    public void Fail(Grpc.Core.StatusCode code, string detail)
    {
        done();
        _response.SetException(new Grpc.Core.RpcException(new Grpc.Core.Status(code, detail)));
    }
}
