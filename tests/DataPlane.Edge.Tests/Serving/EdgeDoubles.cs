using System.Threading.Channels;
using DataPlane.Edge.Api;
using DataPlane.Edge.Gpu;
using DataPlane.Edge.Runtimes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Edge.Tests.Serving;

/// <summary>A fake clock that also says when a timer is created and for how long, so a test advances it only once the
/// code under test is waiting on that timer (a hedge delay, say) rather than racing it.</summary>
internal sealed class SignallingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _created.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Completes when a timer of <paramref name="dueTime"/> has been created (now or earlier).</summary>
    public async Task TimerCreatedAsync(TimeSpan dueTime)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _created.Reader.ReadAsync(guard.Token) != dueTime)
        {
        }
    }
}

/// <summary>A local runtime whose generations produce what the test says, when it says.</summary>
internal sealed class ScriptedLocalRuntime : ILocalRuntime
{
    private readonly Channel<ScriptedGeneration> _calls = Channel.CreateUnbounded<ScriptedGeneration>();
    private int _count;

    public string Name => "scripted";

    public bool ProvidesLogprobs => false;

    public int Calls => Volatile.Read(ref _count);

    public Task<bool> IsHealthyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public async IAsyncEnumerable<TokenChunk> StreamAsync(LocalRequest request,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var call = new ScriptedGeneration(cancellationToken);
        Interlocked.Increment(ref _count);
        _calls.Writer.TryWrite(call);
        await foreach (var chunk in call.Chunks.ReadAllAsync(cancellationToken))
        {
            yield return chunk;
        }
    }

    /// <summary>The next generation that started (waits for it).</summary>
    public async Task<ScriptedGeneration> NextAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _calls.Reader.ReadAsync(guard.Token);
    }
}

/// <summary>One local generation in progress.</summary>
internal sealed class ScriptedGeneration
{
    private readonly Channel<TokenChunk> _chunks = Channel.CreateUnbounded<TokenChunk>();
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ScriptedGeneration(CancellationToken token) => token.Register(() => _cancelled.TrySetResult());

    public ChannelReader<TokenChunk> Chunks => _chunks.Reader;

    /// <summary>Completes when the agent cancels the generation.</summary>
    public Task Cancelled => _cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

    public void Token(string text) => _chunks.Writer.TryWrite(new TokenChunk(text));

    public void Finish(string reason = "stop")
    {
        _chunks.Writer.TryWrite(new TokenChunk("", FinishReason: reason));
        _chunks.Writer.TryComplete();
    }

    public void Fail(string message) => _chunks.Writer.TryComplete(new LocalRuntimeException(message));
}

/// <summary>A GPU host in memory: the <see cref="CallInvoker"/> under <see cref="GpuHost"/>, answering the agent's
/// ModelStreamInfer with what the test says.</summary>
internal sealed class ScriptedGpu : CallInvoker
{
    private readonly Channel<ScriptedGpuCall> _calls = Channel.CreateUnbounded<ScriptedGpuCall>();
    private int _count;

    public int Calls => Volatile.Read(ref _count);

    /// <summary>A configured pool whose one host is this double (the host the options name is replaced before any
    /// call, so no connection is made).</summary>
    public GpuPool Pool(TimeProvider time)
    {
        var pool = new GpuPool(new GpuOptions { Hosts = ["scripted.invalid:1"] }, time: time);
        foreach (var replaced in pool.Balancer.SetHosts([new GpuHost("scripted", this)]))
        {
            replaced.Channel?.Dispose();
        }

        return pool;
    }

    public async Task<ScriptedGpuCall> NextAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _calls.Reader.ReadAsync(guard.Token);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new ScriptedGpuCall(options.CancellationToken);
        Interlocked.Increment(ref _count);
        _calls.Writer.TryWrite(call);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>((IClientStreamWriter<TRequest>)(object)call.Requests,
            (IAsyncStreamReader<TResponse>)(object)call.Responses, Task.FromResult(new Metadata()), () => Status.DefaultSuccess,
            () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options,
        TRequest request) => throw Unimplemented();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host,
        CallOptions options, TRequest request) => throw Unimplemented();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options, TRequest request) => throw Unimplemented();

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) => throw Unimplemented();

    private static RpcException Unimplemented() => new(new Status(StatusCode.Unimplemented, "not scripted"));
}

/// <summary>One ModelStreamInfer call to the scripted GPU host.</summary>
internal sealed class ScriptedGpuCall
{
    private readonly Channel<GpuStreamResponse> _responses = Channel.CreateUnbounded<GpuStreamResponse>();
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ScriptedGpuCall(CancellationToken token)
    {
        token.Register(() => _cancelled.TrySetResult());
        Responses = new Reader(_responses.Reader, token);
    }

    public RequestWriter Requests { get; } = new();

    public IAsyncStreamReader<GpuStreamResponse> Responses { get; }

    /// <summary>Completes when the agent cancels the call.</summary>
    public Task Cancelled => _cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

    public void Token(string text) => _responses.Writer.TryWrite(new GpuStreamResponse("", "", text, false, null));

    public void Finish()
    {
        _responses.Writer.TryWrite(new GpuStreamResponse("", "", "", true, null));
        _responses.Writer.TryComplete();
    }

    public void Fail(StatusCode code, string detail) => _responses.Writer.TryComplete(new RpcException(new Status(code, detail)));

    internal sealed class RequestWriter : IClientStreamWriter<GpuInferRequest>
    {
        public List<GpuInferRequest> Written { get; } = [];

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(GpuInferRequest message)
        {
            Written.Add(message);
            return Task.CompletedTask;
        }

        public Task WriteAsync(GpuInferRequest message, CancellationToken cancellationToken) => WriteAsync(message);

        public Task CompleteAsync() => Task.CompletedTask;
    }

    /// <summary>Reads what the test wrote; a cancelled call fails with CANCELLED, as a gRPC call does.</summary>
    private sealed class Reader(ChannelReader<GpuStreamResponse> responses, CancellationToken callToken) : IAsyncStreamReader<GpuStreamResponse>
    {
        public GpuStreamResponse Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callToken);
            try
            {
                if (!await responses.WaitToReadAsync(linked.Token))
                {
                    return false;
                }
            }
            catch (OperationCanceledException)
            {
                throw new RpcException(new Status(StatusCode.Cancelled, "call cancelled"));
            }

            Current = responses.TryRead(out var next) ? next : throw new InvalidOperationException("no response");
            return true;
        }
    }
}

/// <summary>Records what the service sent the client, in order.</summary>
internal sealed class RecordingSink : IAnswerSink
{
    private readonly List<string> _events = [];

    public bool Started { get; private set; }

    public DataplaneInfo? Info { get; private set; }

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public ValueTask BeginAsync(string path, CancellationToken cancellationToken)
    {
        Assert.False(Started, "an answer begins once");
        Started = true;
        Add("begin " + path);
        return ValueTask.CompletedTask;
    }

    public ValueTask TokenAsync(string text, CancellationToken cancellationToken)
    {
        Assert.True(Started, "tokens come after the answer began");
        Add(text);
        return ValueTask.CompletedTask;
    }

    public ValueTask ReplaceAsync(string path, CancellationToken cancellationToken)
    {
        Add("replace " + path);
        return ValueTask.CompletedTask;
    }

    public ValueTask FinishAsync(string finishReason, UsageDto usage, DataplaneInfo info, CancellationToken cancellationToken)
    {
        Info = info;
        Add($"finish {finishReason} by {info.AnsweredBy}");
        return ValueTask.CompletedTask;
    }

    private void Add(string e)
    {
        lock (_events)
        {
            _events.Add(e);
        }
    }
}
