using System.Collections.Concurrent;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using Google.Protobuf;

namespace DataPlane.Batching.Tests;

/// <summary>An upstream whose calls wait until the test answers them; echoes the input as OUTPUT0.</summary>
internal sealed class HeldUpstream : IInferenceUpstream
{
    private readonly ConcurrentQueue<HeldCall> _calls = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _inFlight;
    private int _maxInFlight;
    private int _count;

    public bool IsAvailable => true;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public int Calls => Volatile.Read(ref _count);

    public string Describe() => "held upstream";

    public Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }

        Interlocked.Increment(ref _count);
        var call = new HeldCall(request, () => Interlocked.Decrement(ref _inFlight));
        _calls.Enqueue(call);
        _arrived.Release();
        return call.Response;
    }

    /// <summary>The next call that arrived (waits for it).</summary>
    public async Task<HeldCall> NextAsync()
    {
        Assert.True(await _arrived.WaitAsync(TimeSpan.FromSeconds(30)), "no upstream call arrived");
        Assert.True(_calls.TryDequeue(out var call));
        return call;
    }
}

internal sealed class HeldCall(ModelInferRequest request, Action done)
{
    private readonly TaskCompletionSource<ModelInferResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _answered;

    public ModelInferRequest Request { get; } = request;

    public Task<ModelInferResponse> Response => _response.Task;

    public void Answer()
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return;
        }

        done();
        var response = new ModelInferResponse { ModelName = Request.ModelName, ModelVersion = "1", Id = Request.Id };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUTPUT0", Datatype = "INT32", Shape = { Request.Inputs[0].Shape } });
        response.RawOutputContents.Add(ByteString.CopyFrom(Request.RawInputContents[0].Span));
        _response.SetResult(response);
    }
}
