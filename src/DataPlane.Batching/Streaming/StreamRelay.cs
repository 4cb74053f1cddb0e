using System.Collections.Concurrent;
using System.Diagnostics;
using DataPlane.Batching.Batching;
using DataPlane.Batching.Frontend;
using DataPlane.Batching.Frontend.Authorization;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.SharedMemory;
using DataPlane.Batching.Tracing;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.SharedMemory;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Batching.Streaming;

/// <summary>Relays ModelStreamInfer (decoupled LLM models: Triton's <c>text_input</c> /
/// <c>text_output</c> convention) per request, without a batching window, but with the batcher's
/// admission control, deadlines and metrics.
/// <para>Each client stream gets one upstream stream, opened at its first admitted request. Requests
/// are renamed with relay ids so that responses find their request even when clients reuse or omit
/// ids; the client's id is restored on every response, and nothing else is changed, so a client
/// sees exactly what Triton sends (including an empty final response when it set
/// <c>triton_enable_empty_final_response</c>). A request is finished by a response with
/// <c>triton_final_response</c> true, by an error, or (for models that are not decoupled) by its one
/// response; a decoupled request whose final flag never comes (a backend that sends the flag alone
/// to a client that did not ask for empty final responses) is finished when its stream ends.</para>
/// <para>Errors are sent in-stream in <c>error_message</c> with Triton's text (no code prefix) and the
/// stream stays open, as Triton does. With the header <c>triton_grpc_error: true</c>, as in Triton, the first
/// error raised during inference ends the stream with its status (the header goes upstream too, so Triton's
/// own code and text come back), while errors found before inference (an unknown model, validation, a full
/// queue) still arrive in-stream. Response headers go out with the first response,
/// so a client racing hedged calls sees time to first token. The model's SLO or a request's
/// <c>timeout</c> bounds the wait for its first response. Inputs in system shared memory are read here
/// and sent upstream as raw bytes; outputs requested into shared memory are written here.</para>
/// <para>Each streamed request counts once in the model's statistics when it finishes (as a decoupled
/// Triton backend reports it), and each of its responses under its index in <c>response_stats</c>.</para></summary>
public sealed partial class StreamRelay
{
    private const string FinalFlag = "triton_final_response";

    private readonly ModelRegistry _registry;
    private readonly ServingState _state;
    private readonly SharedMemoryRegions _sharedMemory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Nanoseconds _clock;
    private readonly ClientAuthorizer? _authorizer;
    private long _nextId;

    /// <param name="registry">The models.</param>
    /// <param name="state">Draining or not.</param>
    /// <param name="sharedMemory">System shared-memory regions.</param>
    /// <param name="logger">Relay events.</param>
    /// <param name="time">The clock of arrivals and deadlines.</param>
    /// <param name="authorizer">Per-client authorization: each streamed request needs inference on its model (refused
    /// in-stream with PERMISSION_DENIED's text otherwise).</param>
    public StreamRelay(ModelRegistry registry, ServingState state, SharedMemoryRegions sharedMemory, ILogger<StreamRelay> logger,
        TimeProvider? time = null, ClientAuthorizer? authorizer = null)
    {
        _registry = registry;
        _state = state;
        _sharedMemory = sharedMemory;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _clock = new Nanoseconds(_time);
        _authorizer = authorizer is { Enabled: true } ? authorizer : null;
    }

    public async Task RunAsync(IAsyncStreamReader<ModelInferRequest> requests, IServerStreamWriter<ModelStreamInferResponse> responses,
        ServerCallContext context)
    {
        bool grpcErrors = context.RequestHeaders.GetValue("triton_grpc_error") is { } h && h.Equals("true", StringComparison.OrdinalIgnoreCase);
        bool timing = context.RequestHeaders.GetValue(TimingHeader) == "1";
        var call = new RelayCall(this, responses, context, grpcErrors, timing);
        try
        {
            await foreach (var request in requests.ReadAllAsync(call.Token).ConfigureAwait(false))
            {
                await call.ForwardAsync(request).ConfigureAwait(false);
            }

            await call.CompleteAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (call.Fatal != null)
        {
            // triton_grpc_error mode: the first error ends the stream with its status.
            throw call.Fatal;
        }
        finally
        {
            call.Dispose();
        }
    }

    private sealed class Entry(string clientId, ModelBatcher batcher, long arrivalNs, long rows, SharedMemoryOutputs? sharedMemory, OrderSlot? slot)
    {
        /// <summary>Where the answer goes in the stream's order (models that are not decoupled), or null.</summary>
        public OrderSlot? Slot { get; } = slot;

        public string ClientId { get; } = clientId;

        public ModelBatcher Batcher { get; } = batcher;

        public long ArrivalNs { get; } = arrivalNs;

        public long Rows { get; } = rows;

        public SharedMemoryOutputs? SharedMemory { get; } = sharedMemory;

        /// <summary>When the request was written to the upstream stream.</summary>
        public long ForwardedNs;

        /// <summary>When its previous response arrived (the start of the next response's time).</summary>
        public long LastResponseNs;

        public int Responses;
    }

    /// <summary>The place of one answer among a stream's answers to requests of models that are not decoupled:
    /// Triton writes those in request order, so an answer waits for the answers of the requests before it.</summary>
    private sealed class OrderSlot
    {
        public ModelStreamInferResponse? Response;
    }

    /// <summary>Request header with which a caller (the edge agent) asks for <see cref="UpstreamFirstResponseParameter"/>;
    /// other clients get exactly Triton's responses.</summary>
    public const string TimingHeader = "dataplane-timing";

    /// <summary>Response parameter on a request's first response, for callers that send <see cref="TimingHeader"/>:
    /// microseconds from forwarding the request upstream to its first response (Triton's time to first token as this
    /// host saw it), so a client can split its own latency into hops.</summary>
    public const string UpstreamFirstResponseParameter = "dataplane_upstream_first_response_us";

    /// <summary>The state of one client stream.</summary>
    private sealed class RelayCall : IDisposable
    {
        private readonly StreamRelay _relay;
        private readonly IServerStreamWriter<ModelStreamInferResponse> _responses;
        private readonly ServerCallContext _context;
        private readonly bool _grpcErrors;
        private readonly bool _timing;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly ConcurrentDictionary<string, Entry> _pending = new(StringComparer.Ordinal);
        private readonly Queue<OrderSlot> _order = new();
        private readonly Lock _orderGate = new();
        private readonly CancellationTokenSource _cts;
        private readonly Caller _caller;
        private AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse>? _upstream;
        private Task? _pump;
        private RpcException? _fatal;
        private readonly Activity? _span;
        private Activity? _upstreamSpan;

        /// <summary>Cancelled when the client goes away or, in triton_grpc_error mode, at the first error.</summary>
        public CancellationToken Token => _cts.Token;

        /// <summary>The error that ends the stream in triton_grpc_error mode.</summary>
        public RpcException? Fatal => _fatal;

        public RelayCall(StreamRelay relay, IServerStreamWriter<ModelStreamInferResponse> responses, ServerCallContext context, bool grpcErrors,
            bool timing)
        {
            _relay = relay;
            _responses = responses;
            _context = context;
            _grpcErrors = grpcErrors;
            _timing = timing;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            _caller = relay._authorizer?.Identify(context.GetHttpContext()) ?? Caller.Anyone;
            _span = DaemonTracing.StartGrpcServer("ModelStreamInfer", context);
        }

        public async Task ForwardAsync(ModelInferRequest request)
        {
            ThrowIfFatal();
            long arrival = _relay._clock.Now;
            var registry = _relay._registry;
            bool known = registry.TryGet(request.ModelName, out var batcher);
            // Answers to requests of models that are not decoupled (and errors for unknown ones) keep request order.
            var slot = known && batcher.Model.Decoupled ? null : Reserve();
            if (_caller.Refusal(ClientOperations.Inference, request.ModelName) is { } denied)
            {
                await ErrorAsync(request, null, denied.StatusCode, denied.Status.Detail, slot).ConfigureAwait(false);
                return;
            }

            if (!known)
            {
                var notServed = registry.NotServed(request.ModelName).Status;
                await ErrorAsync(request, null, notServed.StatusCode, notServed.Detail, slot).ConfigureAwait(false);
                return;
            }

            var read = TensorReader.TryReadInputs(request, registry.Options.Limits, _relay._sharedMemory, out var inputs, out _);
            long rows = 1;
            var problem = read ?? batcher.Model.Validate(request, inputs, out rows);
            var deadlineProblem = batcher.TryGetDeadline(request, _context.Deadline, arrival, out _, out long deadline);
            SharedMemoryOutputs? shmOutputs = null;
            var shmProblem = problem ?? deadlineProblem ?? SharedMemoryOutputs.TryResolve(request, _relay._sharedMemory, out shmOutputs);
            if ((problem ?? deadlineProblem ?? shmProblem) is { } p)
            {
                batcher.Metrics.Rejected(Outcomes.Invalid);
                await ErrorAsync(request, batcher, p.Code, p.Message, slot).ConfigureAwait(false);
                return;
            }

            if (shmOutputs != null || TensorReader.UsesSharedMemory(request))
            {
                request = SharedMemoryOutputs.ToRawRequest(request, inputs);
            }

            string? refusal = null;
            var refusalCode = StatusCode.Unavailable;
            if (_relay._state.Draining)
            {
                batcher.Metrics.Rejected(Outcomes.ShuttingDown);
                refusal = "GRPC server is shutting down and has stopped accepting new requests.";
            }
            else if (!registry.Upstream.IsAvailable)
            {
                batcher.Metrics.Rejected(Outcomes.UpstreamUnavailable);
                refusal = $"upstream is unavailable: {registry.Upstream.Describe()}";
            }
            else if (!batcher.TryEnterStream())
            {
                batcher.Metrics.Rejected(Outcomes.QueueFull);
                refusal = $"{TritonErrors.QueueFull(request.Id)}: model '{batcher.Model.Name}' has {batcher.Options.MaxQueueSize} streamed requests in flight, its limit; retry later";
            }

            if (refusal != null)
            {
                shmOutputs?.Dispose();
                await ErrorAsync(request, batcher, refusalCode, refusal, slot).ConfigureAwait(false);
                return;
            }

            var entry = new Entry(request.Id, batcher, arrival, rows, shmOutputs, slot);
            string relayId = "dp-" + Interlocked.Increment(ref _relay._nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _pending[relayId] = entry;
            batcher.Metrics.StreamInflight.Inc();

            // The message is ours once received: rename it in place rather than copying its tensors.
            request.Id = relayId;

            _span?.AddEvent(new ActivityEvent("request forwarded", tags: new ActivityTagsCollection
            {
                ["dataplane.model"] = batcher.Model.Name,
                ["dataplane.relay_id"] = relayId,
            }));
            try
            {
                var upstream = EnsureUpstream();
                entry.ForwardedNs = _relay._clock.Now;
                await upstream.RequestStream.WriteAsync(request, _cts.Token).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                await FailPendingAsync(e).ConfigureAwait(false);
                return;
            }

            if (deadline != long.MaxValue)
            {
                _ = ExpireAsync(relayId, entry, deadline);
            }
        }

        private AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> EnsureUpstream()
        {
            if (_upstream == null)
            {
                var deadline = _context.Deadline == DateTime.MaxValue ? (DateTime?)null : _context.Deadline;
                // Trace context travels on to Triton, which records it when tracing is on.
                Metadata? headers = null;
                _upstreamSpan = DaemonTracing.StartUpstreamStream(_span, _relay._registry.Upstream.Address);
                if (_upstreamSpan != null)
                {
                    // Traced: Triton continues the upstream call's span.
                    (headers ??= []).Add(DaemonTracing.TraceParentHeader, _upstreamSpan.Id!);
                    Activity.Current = _span;
                }
                else if (_context.RequestHeaders.GetValue(DaemonTracing.TraceParentHeader) is { } traceParent)
                {
                    (headers ??= []).Add(DaemonTracing.TraceParentHeader, traceParent);
                }

                if (_grpcErrors)
                {
                    // Triton then ends the upstream stream at the first inference error, with the status the client gets.
                    (headers ??= []).Add("triton_grpc_error", "true");
                }

                _upstream = _relay._registry.Upstream.Client.ModelStreamInfer(headers, deadline, _cts.Token);
                _pump = PumpAsync(_upstream);
            }

            return _upstream;
        }

        public async Task CompleteAsync()
        {
            if (_upstream != null)
            {
                try
                {
                    await _upstream.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                catch (RpcException)
                {
                    // The pump reports the stream's failure.
                }

                await _pump!.ConfigureAwait(false);
            }

            ThrowIfFatal();
        }

        private async Task PumpAsync(AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> upstream)
        {
            await Task.Yield();
            try
            {
                await foreach (var response in upstream.ResponseStream.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                {
                    await RelayAsync(response).ConfigureAwait(false);
                }

                if (!_pending.IsEmpty)
                {
                    await FailPendingAsync(new RpcException(new Status(StatusCode.Unavailable,
                        "upstream closed the stream before finishing every request"))).ConfigureAwait(false);
                }
            }
            catch (RpcException e)
            {
                await FailPendingAsync(e).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The client went away; nothing is left to answer.
            }
        }

        private async Task RelayAsync(ModelStreamInferResponse response)
        {
            string id = response.InferResponse?.Id ?? "";
            if (!_pending.TryGetValue(id, out var entry))
            {
                return; // a request that expired or was already finished
            }

            var model = entry.Batcher;
            bool isError = response.ErrorMessage.Length > 0;
            response.InferResponse ??= new ModelInferResponse();
            bool final = isError || !model.Model.Decoupled ||
                (response.InferResponse.Parameters.TryGetValue(FinalFlag, out var f) && f.BoolParam);
            long now = _relay._clock.Now;
            int index = Interlocked.Increment(ref entry.Responses) - 1;
            if (index == 0)
            {
                _span?.AddEvent(new ActivityEvent("first response", tags: new ActivityTagsCollection { ["dataplane.relay_id"] = id }));
                model.Metrics.StreamFirstResponse.Observe((now - entry.ArrivalNs) / 1e9);
                if (_timing)
                {
                    response.InferResponse.Parameters[UpstreamFirstResponseParameter] =
                        new InferParameter { Int64Param = (now - entry.ForwardedNs) / 1000 };
                }
            }

            if (!isError && entry.SharedMemory?.TryWrite(response.InferResponse) is { } shmError)
            {
                // The output did not fit its shared-memory window: an error raised during inference, as in Triton.
                model.Statistics.Response(index, now - entry.ForwardedNs, empty: false, failed: true);
                if (_pending.TryRemove(id, out _))
                {
                    Finish(entry, Outcomes.Of(shmError.Code), now);
                }

                await TryWriteErrorAsync(entry.ClientId, model.Model.Name, shmError.Code, shmError.Message, entry.Slot, duringInference: true)
                    .ConfigureAwait(false);
                return;
            }

            bool empty = response.InferResponse.Outputs.Count == 0;
            long since = now - (entry.LastResponseNs > 0 ? entry.LastResponseNs : entry.ForwardedNs);
            entry.LastResponseNs = now;
            model.Statistics.Response(index, since, empty && !isError, isError);
            response.InferResponse.Id = entry.ClientId;
            model.Metrics.StreamResponses.Inc();
            await WriteAsync(response, entry.Slot).ConfigureAwait(false);

            if (final && _pending.TryRemove(id, out _))
            {
                Finish(entry, isError ? "upstream_error" : Outcomes.Ok, now);
            }
        }

        private async Task ExpireAsync(string relayId, Entry entry, long deadlineNs)
        {
            long remaining = deadlineNs - _relay._clock.Now;
            try
            {
                if (remaining > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(remaining / 1e6), _relay._time, _cts.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (Volatile.Read(ref entry.Responses) == 0 && _pending.TryRemove(relayId, out _))
            {
                Finish(entry, Outcomes.Of(StatusCode.DeadlineExceeded), _relay._clock.Now);
                await TryWriteErrorAsync(entry.ClientId, entry.Batcher.Model.Name, StatusCode.DeadlineExceeded,
                    $"no first response from model '{entry.Batcher.Model.Name}' within its deadline " +
                    $"({(deadlineNs - entry.ArrivalNs) / 1e6:0.###} ms)", entry.Slot, duringInference: true).ConfigureAwait(false);
            }
        }

        private async Task FailPendingAsync(RpcException e)
        {
            bool transport = TritonUpstream.IsTransportFailure(e);
            string message = transport
                ? $"upstream is unavailable: {_relay._registry.Upstream.Describe()}: {e.Status.Detail}"
                : e.Status.Detail;
            if (transport)
            {
                _relay._registry.Upstream.MarkDown(e.Status.Detail);
            }

            foreach (var (id, entry) in _pending)
            {
                if (_pending.TryRemove(id, out _))
                {
                    Finish(entry, Outcomes.Of(e.StatusCode), _relay._clock.Now);
                    await TryWriteErrorAsync(entry.ClientId, entry.Batcher.Model.Name, e.StatusCode, message, entry.Slot, duringInference: true)
                        .ConfigureAwait(false);
                }
            }

            // The next request opens a fresh upstream stream.
            _upstream?.Dispose();
            _upstream = null;
            DaemonTracing.EndUpstream(null, _upstreamSpan, e);
            _upstreamSpan = null;
        }

        /// <summary>A streamed request is done: its statistics (once per request, like a decoupled Triton backend:
        /// queue until it was forwarded, compute until its last response) and its admission slot.</summary>
        private static void Finish(Entry entry, string outcome, long now)
        {
            var model = entry.Batcher;
            long total = now - entry.ArrivalNs;
            if (outcome == Outcomes.Ok)
            {
                long forwarded = entry.ForwardedNs > 0 ? entry.ForwardedNs : entry.ArrivalNs;
                var times = new RequestTimes(forwarded - entry.ArrivalNs, 0, now - forwarded, 0);
                model.Statistics.Executed(entry.Rows, times);
                model.Statistics.RequestSucceeded(entry.Rows, total, times);
            }
            else
            {
                model.Statistics.RequestFailed(total);
            }

            entry.SharedMemory?.Dispose();
            model.ExitStream();
            model.Metrics.StreamInflight.Dec();
            model.Metrics.StreamFinished(outcome);
        }

        private Task ErrorAsync(ModelInferRequest request, ModelBatcher? batcher, StatusCode code, string message, OrderSlot? slot)
        {
            batcher?.Metrics.StreamFinished(Outcomes.Of(code));
            return TryWriteErrorAsync(request.Id, request.ModelName, code, message, slot);
        }

        /// <summary>Answers a request with an error: in-stream, or, in triton_grpc_error mode for an error raised during
        /// inference, by ending the stream with the status.</summary>
        private async Task TryWriteErrorAsync(string clientId, string model, StatusCode code, string message, OrderSlot? slot,
            bool duringInference = false)
        {
            if (_grpcErrors && duringInference)
            {
                _fatal ??= new RpcException(new Status(code, message));
                await _cts.CancelAsync().ConfigureAwait(false);
                return;
            }

            try
            {
                await WriteAsync(new ModelStreamInferResponse
                {
                    ErrorMessage = message,
                    InferResponse = new ModelInferResponse { Id = clientId, ModelName = model },
                }, slot).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or OperationCanceledException)
            {
                Log.ClientGone(_relay._logger, e.Message);
            }
        }

        /// <summary>Takes the next place in the order of answers.</summary>
        private OrderSlot Reserve()
        {
            var slot = new OrderSlot();
            lock (_orderGate)
            {
                _order.Enqueue(slot);
            }

            return slot;
        }

        /// <summary>Writes <paramref name="response"/>: at once without a slot (decoupled models answer as they
        /// produce), otherwise into its slot, then every answer at the head of the order that is ready.</summary>
        private async Task WriteAsync(ModelStreamInferResponse response, OrderSlot? slot)
        {
            if (slot != null)
            {
                lock (_orderGate)
                {
                    slot.Response = response;
                }
            }

            await _writeLock.WaitAsync(_context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (slot == null)
                {
                    await _responses.WriteAsync(response, _context.CancellationToken).ConfigureAwait(false);
                    return;
                }

                while (true)
                {
                    ModelStreamInferResponse next;
                    lock (_orderGate)
                    {
                        if (_order.Count == 0 || _order.Peek().Response is not { } ready)
                        {
                            break;
                        }

                        _order.Dequeue();
                        next = ready;
                    }

                    await _responses.WriteAsync(next, _context.CancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }

        private void ThrowIfFatal()
        {
            if (_fatal != null)
            {
                throw _fatal;
            }
        }

        public void Dispose()
        {
            foreach (var (id, entry) in _pending)
            {
                if (_pending.TryRemove(id, out _))
                {
                    Finish(entry, Outcomes.Of(StatusCode.Cancelled), _relay._clock.Now);
                }
            }

            _cts.Cancel();
            _upstream?.Dispose();
            DaemonTracing.EndUpstream(null, _upstreamSpan, null);
            DaemonTracing.EndServer(_span, _fatal?.StatusCode ?? StatusCode.OK, _fatal?.Status.Detail);
            _cts.Dispose();
            _writeLock.Dispose();
        }
    }

    /// <summary>The canonical upper-case name of a status code, e.g. INVALID_ARGUMENT.</summary>
    public static string ErrorCodeName(StatusCode code) => Outcomes.Of(code).ToUpperInvariant();

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Could not write an in-stream error; the client is gone: {Reason}")]
        public static partial void ClientGone(ILogger logger, string reason);
    }
}
