using System.Threading.Channels;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Batching.Tests.Streaming;

/// <summary>Triton in memory, under the generated client: readiness, metadata, a repository of two READY models
/// (<c>echo</c>, one response per request; <c>llm</c>, decoupled) and their configurations, and ModelStreamInfer
/// calls the test answers itself.</summary>
internal sealed class InMemoryTriton : CallInvoker
{
    private readonly Channel<UpstreamStream> _streams = Channel.CreateUnbounded<UpstreamStream>();
    private int _count;

    public int Streams => Volatile.Read(ref _count);

    public static ModelConfig Config(string name, bool decoupled)
    {
        var config = new ModelConfig { Name = name, MaxBatchSize = 8 };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.Output.Add(new ModelOutput { Name = "OUTPUT0", DataType = DataType.TypeInt32, Dims = { 1 } });
        config.ModelTransactionPolicy = new ModelTransactionPolicy { Decoupled = decoupled };
        return config;
    }

    /// <summary>The next upstream stream the relay opened (waits for it).</summary>
    public async Task<UpstreamStream> NextStreamAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _streams.Reader.ReadAsync(guard.Token);
    }

    /// <summary>Answers ModelInfer at the byte level: gets the bytes the client's request marshaller wrote and returns
    /// the bytes its response marshaller reads (null: ModelInfer is UNIMPLEMENTED).</summary>
    public Func<byte[], byte[]>? Infer { get; set; }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host,
        CallOptions options, TRequest request)
    {
        if (request is ModelInferRequest && Infer is { } infer)
        {
            var written = new WrittenPayload();
            method.RequestMarshaller.ContextualSerializer(request, written);
            var answer = method.ResponseMarshaller.ContextualDeserializer(new ReceivedPayload(infer(written.Bytes)));
            return new AsyncUnaryCall<TResponse>(Task.FromResult(answer), Task.FromResult(new Metadata()),
                () => Status.DefaultSuccess, () => [], () => { });
        }

        object response = request switch
        {
            ServerReadyRequest => new ServerReadyResponse { Ready = true },
            ServerMetadataRequest => new ServerMetadataResponse { Name = "triton", Version = "2.70.0" },
            RepositoryIndexRequest => new RepositoryIndexResponse
            {
                Models =
                {
                    new RepositoryIndexResponse.Types.ModelIndex { Name = "echo", Version = "1", State = "READY" },
                    new RepositoryIndexResponse.Types.ModelIndex { Name = "llm", Version = "1", State = "READY" },
                },
            },
            ModelConfigRequest c => new ModelConfigResponse { Config = Config(c.Name, decoupled: c.Name == "llm") },
            _ => throw new RpcException(new Status(StatusCode.Unimplemented, method.FullName)),
        };
        return new AsyncUnaryCall<TResponse>(Task.FromResult((TResponse)response), Task.FromResult(new Metadata()),
            () => Status.DefaultSuccess, () => [], () => { });
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var stream = new UpstreamStream(options.CancellationToken);
        Interlocked.Increment(ref _count);
        _streams.Writer.TryWrite(stream);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>((IClientStreamWriter<TRequest>)(object)stream.Requests,
            (IAsyncStreamReader<TResponse>)(object)stream.Responses, Task.FromResult(new Metadata()), () => Status.DefaultSuccess,
            () => [], stream.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options,
        TRequest request) => throw new RpcException(new Status(StatusCode.Unimplemented, method.FullName));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options, TRequest request) => throw new RpcException(new Status(StatusCode.Unimplemented, method.FullName));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, method.FullName));
}

/// <summary>What a marshaller writes to the transport.</summary>
internal sealed class WrittenPayload : SerializationContext
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new();

    public byte[] Bytes { get; private set; } = [];

    public override void Complete(byte[] payload) => Bytes = payload;

    public override System.Buffers.IBufferWriter<byte> GetBufferWriter() => _buffer;

    public override void SetPayloadLength(int payloadLength)
    {
    }

    public override void Complete() => Bytes = _buffer.WrittenSpan.ToArray();
}

/// <summary>A message's bytes as the transport hands them to a marshaller.</summary>
internal sealed class ReceivedPayload(byte[] bytes) : DeserializationContext
{
    public override int PayloadLength => bytes.Length;

    public override byte[] PayloadAsNewBuffer() => (byte[])bytes.Clone();

    public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
}

/// <summary>One upstream ModelStreamInfer stream: what the relay sent, and responses the test writes.</summary>
internal sealed class UpstreamStream
{
    private readonly Channel<ModelStreamInferResponse> _responses = Channel.CreateUnbounded<ModelStreamInferResponse>();
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public UpstreamStream(CancellationToken token)
    {
        token.Register(() => _cancelled.TrySetResult());
        Responses = new Reader(_responses.Reader, token);
    }

    public Writer Requests { get; } = new();

    public IAsyncStreamReader<ModelStreamInferResponse> Responses { get; }

    /// <summary>Completes when the relay cancels the stream.</summary>
    public Task Cancelled => _cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Completes when the relay has disposed of the call (it is done with this stream).</summary>
    public Task Disposed => _disposed.Task.WaitAsync(TimeSpan.FromSeconds(30));

    public void Dispose() => _disposed.TrySetResult();

    /// <summary>A response to the request the relay sent under <paramref name="relayId"/>.</summary>
    public void Respond(string relayId, int value, bool? final = null)
    {
        var response = new ModelInferResponse { Id = relayId, ModelName = "m", ModelVersion = "1" };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "OUTPUT0", Datatype = "INT32", Shape = { 1, 1 } });
        response.RawOutputContents.Add(Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(value)));
        if (final is { } f)
        {
            response.Parameters["triton_final_response"] = new InferParameter { BoolParam = f };
        }

        _responses.Writer.TryWrite(new ModelStreamInferResponse { InferResponse = response });
    }

    public void End() => _responses.Writer.TryComplete();

    public void Fail(StatusCode code, string detail) => _responses.Writer.TryComplete(new RpcException(new Status(code, detail)));

    internal sealed class Writer : IClientStreamWriter<ModelInferRequest>
    {
        private readonly Channel<ModelInferRequest> _written = Channel.CreateUnbounded<ModelInferRequest>();
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public WriteOptions? WriteOptions { get; set; }

        /// <summary>Completes when the relay has completed its side of the stream.</summary>
        public Task Completed => _completed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        public Task WriteAsync(ModelInferRequest message)
        {
            _written.Writer.TryWrite(message.Clone());
            return Task.CompletedTask;
        }

        public Task WriteAsync(ModelInferRequest message, CancellationToken cancellationToken) => WriteAsync(message);

        public Task CompleteAsync()
        {
            _completed.TrySetResult();
            return Task.CompletedTask;
        }

        /// <summary>The next request the relay sent upstream (waits for it).</summary>
        public async Task<ModelInferRequest> NextAsync()
        {
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await _written.Reader.ReadAsync(guard.Token);
        }
    }

    private sealed class Reader(ChannelReader<ModelStreamInferResponse> responses, CancellationToken callToken)
        : IAsyncStreamReader<ModelStreamInferResponse>
    {
        public ModelStreamInferResponse Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callToken);
            if (!await responses.WaitToReadAsync(linked.Token))
            {
                return false;
            }

            Current = responses.TryRead(out var next) ? next : throw new InvalidOperationException("no response");
            return true;
        }
    }
}

/// <summary>The client's side of one relayed call: a request stream the test writes, the responses the relay wrote, and
/// the call context (headers, deadline, cancellation).</summary>
internal sealed class ClientStream : ServerCallContext
{
    private readonly Channel<ModelInferRequest> _requests = Channel.CreateUnbounded<ModelInferRequest>();
    private readonly Channel<ModelStreamInferResponse> _responses = Channel.CreateUnbounded<ModelStreamInferResponse>();
    private readonly CancellationTokenSource _cts = new();
    private readonly Metadata _headers = [];

    public ClientStream(params (string Key, string Value)[] headers)
    {
        foreach (var (key, value) in headers)
        {
            _headers.Add(key, value);
        }

        Requests = new RequestReader(_requests.Reader);
        Responses = new ResponseWriter(_responses.Writer);
    }

    public IAsyncStreamReader<ModelInferRequest> Requests { get; }

    public IServerStreamWriter<ModelStreamInferResponse> Responses { get; }

    public void Send(string model, string id, int value, long? timeoutUs = null)
    {
        var r = new ModelInferRequest { ModelName = model, Id = id };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32" };
        input.Shape.Add([1, 1]);
        r.Inputs.Add(input);
        r.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(BitConverter.GetBytes(value)));
        if (timeoutUs is { } t)
        {
            r.Parameters["timeout"] = new InferParameter { Int64Param = t };
        }

        _requests.Writer.TryWrite(r);
    }

    /// <summary>The client has sent everything.</summary>
    public void Complete() => _requests.Writer.TryComplete();

    /// <summary>The client goes away.</summary>
    public void Cancel() => _cts.Cancel();

    /// <summary>The next response the relay wrote to the client (waits for it).</summary>
    public async Task<ModelStreamInferResponse> NextAsync()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _responses.Reader.ReadAsync(guard.Token);
    }

    /// <summary>True when the relay has written nothing more so far.</summary>
    public bool NothingMore => !_responses.Reader.TryPeek(out _);

    protected override string MethodCore => "/inference.GRPCInferenceService/ModelStreamInfer";

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:50000";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _headers;

    protected override CancellationToken CancellationTokenCore => _cts.Token;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, new Dictionary<string, List<AuthProperty>>());

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;

    private sealed class RequestReader(ChannelReader<ModelInferRequest> requests) : IAsyncStreamReader<ModelInferRequest>
    {
        public ModelInferRequest Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await requests.WaitToReadAsync(cancellationToken))
            {
                return false;
            }

            Current = requests.TryRead(out var next) ? next : throw new InvalidOperationException("no request");
            return true;
        }
    }

    private sealed class ResponseWriter(ChannelWriter<ModelStreamInferResponse> responses) : IServerStreamWriter<ModelStreamInferResponse>
    {
        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(ModelStreamInferResponse message)
        {
            responses.TryWrite(message.Clone());
            return Task.CompletedTask;
        }

        public Task WriteAsync(ModelStreamInferResponse message, CancellationToken cancellationToken) => WriteAsync(message);
    }
}
