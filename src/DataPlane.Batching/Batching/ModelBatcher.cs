using DataPlane.Batching.Estimation;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Policies;
using DataPlane.Batching.Queueing;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using System.Buffers;

namespace DataPlane.Batching.Batching;

/// <summary>The queue, policy and upstream slots of one model.
/// <para>Every decision happens under one lock at one of three events: an arrival, a batch
/// completing (a slot frees), or the timer (a window ends or a deadline passes). Each decision
/// first answers expired requests with DEADLINE_EXCEEDED, then, while a slot is free, asks the
/// policy when to send; "now" forms a batch from the head request and the compatible requests
/// behind it, a later time arms the timer. Batches are sent outside the lock, on the thread that
/// made the decision, so a request that needs no window goes upstream from the thread that
/// received it.</para>
/// <para>Requests are answered exactly once: by their batch, by cancellation (client gone or
/// gRPC deadline), by deadline expiry in the queue, or by a drain failure.</para></summary>
public sealed partial class ModelBatcher : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ModelDescriptor _model;
    private readonly ModelBatchingOptions _options;
    private readonly IInferenceUpstream _upstream;
    private readonly ISpillTarget? _spill;
    private readonly TensorLimits _limits;
    private readonly BatchingMetrics.ModelMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Nanoseconds _clock;
    private readonly TimeSpan _upstreamTimeout;
    private readonly RequestQueue _queue;
    private readonly ArrivalRate _rate = new();
    private readonly LatencyModel _latency;
    private readonly IBatchPolicy _policy;
    private readonly DispatchTimer _timer;
    private readonly UpstreamSlots _slots;
    private readonly long _leadNs;
    private readonly Func<long, double> _predict;
    private readonly List<PendingRequest> _scratch = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _streaming;
    private long _lastSlotFreeNs;
    private long _windowEnd = long.MaxValue;
    private bool _draining;

    public ModelBatcher(ModelDescriptor model, ModelBatchingOptions options, IInferenceUpstream upstream, TensorLimits limits,
        BatchingMetrics metrics, ILogger logger, TimeProvider? time = null, TimeSpan? upstreamTimeout = null, ISpillTarget? spill = null)
    {
        _model = model;
        _options = options;
        _upstream = upstream;
        _spill = options.SpillQueueThreshold > 0 ? spill : null;
        _limits = limits;
        _metrics = metrics.ForModel(model.Name);
        _metrics.QueueLimit.Set(options.MaxQueueSize);
        _logger = logger;
        _clock = new Nanoseconds(time ?? TimeProvider.System);
        _upstreamTimeout = upstreamTimeout ?? TimeSpan.FromSeconds(30);
        _queue = new RequestQueue(Math.Max(1, options.PriorityLevels));
        _latency = new LatencyModel(Nanoseconds.From(options.InitialLatencyIntercept), Nanoseconds.From(options.InitialLatencyPerItem));
        _slots = new UpstreamSlots(options.MaxConcurrentBatches > 0 ? options.MaxConcurrentBatches : model.InstanceCount, options.PipelineDepth);
        _leadNs = Nanoseconds.From(options.PipelineLead);
        _predict = rows => _latency.PredictNs(rows);
        MaxRows = !model.Batches ? 1 : options.MaxBatchSize > 0 ? Math.Min(options.MaxBatchSize, model.MaxBatchSize) : model.MaxBatchSize;
        PolicyKind = model.Batches ? options.Policy : BatchPolicyKind.None;
        _policy = PolicyKind switch
        {
            BatchPolicyKind.Fixed => new FixedPolicy(options.MaxQueueDelay, options.PreferredBatchSizes),
            BatchPolicyKind.None => PassThroughPolicy.Instance,
            _ => new AdaptivePolicy(_rate, _latency, options.MinWindow, options.MaxWindow),
        };
        Statistics = new ModelStatisticsCollector(model.MaxBatchSize);
        EffectiveConfig = Describe(model.Config, options, PolicyKind);
        _timer = new DispatchTimer($"dp-batch:{model.Name}", () => _clock.Now, OnTimer);
        _metrics.LatencyIntercept.Set(_latency.InterceptNs / 1e9);
        _metrics.LatencySlope.Set(_latency.SlopeNs / 1e9);
    }

    public ModelDescriptor Model => _model;

    public ModelBatchingOptions Options => _options;

    /// <summary>The policy in effect (<see cref="BatchPolicyKind.None"/> for models that do not batch).</summary>
    public BatchPolicyKind PolicyKind { get; }

    /// <summary>Upstream batches executing at once (the upstream's instances).</summary>
    public int Instances => _slots.Instances;

    /// <summary>Upstream batches in flight at once: instances plus the pipeline depth.</summary>
    public int Slots => _slots.Capacity;

    /// <summary>Largest batch in rows.</summary>
    public long MaxRows { get; }

    public ModelStatisticsCollector Statistics { get; }

    /// <summary>The model configuration clients of this front end see: the upstream's, with
    /// <c>dynamic_batching</c> describing this batcher (so perf_analyzer and Triton tooling see that
    /// requests are batched here): max_queue_delay is the longest a request may be held for a batch
    /// (the adaptive policy's maximum window, or the fixed policy's delay), plus the preferred sizes,
    /// priority levels, queue size and SLO. Models served without batching keep the upstream's.</summary>
    public ModelConfig EffectiveConfig { get; }

    public BatchingMetrics.ModelMetrics Metrics => _metrics;

    public long NowNs => _clock.Now;

    /// <summary>Completes when draining has begun and every admitted request has been answered.</summary>
    public Task Drained => _drained.Task;

    /// <summary>What the batcher currently believes and holds, for the admin status page.</summary>
    public BatcherSnapshot Snapshot()
    {
        lock (_gate)
        {
            long now = _clock.Now;
            return new BatcherSnapshot(_model.Name, _model.Version, PolicyKind.ToString().ToLowerInvariant(), MaxRows, _slots.Instances,
                _slots.Depth, _slots.InFlight, _queue.Count, _rate.PerSecond(now), _latency.InterceptNs / 1e6, _latency.SlopeNs / 1e6, _draining);
        }
    }

    /// <summary>Maps a request's <c>priority</c> parameter (1 = highest, 0 or absent = default) to a level index.</summary>
    public RequestError? TryGetLevel(ModelInferRequest request, out int level)
    {
        level = Math.Clamp(_options.DefaultPriorityLevel, 1, _queue.Levels) - 1;
        if (!request.Parameters.TryGetValue("priority", out var p))
        {
            return null;
        }

        long value;
        switch (p.ParameterChoiceCase)
        {
            case InferParameter.ParameterChoiceOneofCase.Int64Param:
                value = p.Int64Param;
                break;
            case InferParameter.ParameterChoiceOneofCase.Uint64Param when p.Uint64Param <= long.MaxValue:
                value = (long)p.Uint64Param;
                break;
            default:
                return new(StatusCode.InvalidArgument,
                    $"parameter 'priority' must be an int64 or uint64 from 0 to {_queue.Levels}, got {p.ParameterChoiceCase} {p}");
        }

        if (value < 0 || value > _queue.Levels)
        {
            return new(StatusCode.InvalidArgument,
                $"parameter 'priority' is {value} but model '{_model.Name}' has {_queue.Levels} priority levels (1 = highest, 0 = default)");
        }

        if (value > 0)
        {
            level = (int)value - 1;
        }

        return null;
    }

    /// <summary>The request's deadline on the monotonic clock: the earliest of its gRPC deadline,
    /// its <c>timeout</c> parameter (microseconds) and the model's SLO.</summary>
    public RequestError? TryGetDeadline(ModelInferRequest request, DateTime grpcDeadline, long arrivalNs,
        out long grpcDeadlineNs, out long deadlineNs)
    {
        grpcDeadlineNs = _clock.FromDeadline(grpcDeadline, arrivalNs);
        deadlineNs = grpcDeadlineNs;
        if (_options.Slo > TimeSpan.Zero)
        {
            deadlineNs = Math.Min(deadlineNs, arrivalNs + Nanoseconds.From(_options.Slo));
        }

        if (request.Parameters.TryGetValue("timeout", out var t))
        {
            if (t.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param || t.Int64Param < 0)
            {
                return new(StatusCode.InvalidArgument, $"parameter 'timeout' must be a non-negative int64 in microseconds, got {t.ParameterChoiceCase} {t}");
            }

            if (t.Int64Param > 0)
            {
                deadlineNs = Math.Min(deadlineNs, arrivalNs + (Math.Min(t.Int64Param, long.MaxValue / 2000) * 1000));
            }
        }

        return null;
    }

    /// <summary>Admits a validated request. The returned task completes with its response or an
    /// <see cref="RpcException"/>; it never stays pending after <see cref="Drained"/>.</summary>
    public Task<ModelInferResponse> Submit(PendingRequest request)
    {
        List<Batch>? start = null;
        lock (_gate)
        {
            if (_draining)
            {
                _metrics.Rejected(Outcomes.ShuttingDown);
                request.TryFail(StatusCode.Unavailable, "dataplane is shutting down and accepts no new requests; retry on another host");
                return request.Completion;
            }

            if (_queue.Count >= _options.MaxQueueSize)
            {
                _metrics.Rejected(Outcomes.QueueFull);
                request.TryFail(StatusCode.ResourceExhausted,
                    $"queue of model '{_model.Name}' is full ({_queue.Count} requests waiting, limit {_options.MaxQueueSize}); retry later");
                return request.Completion;
            }

            long now = request.ArrivalNs;
            _rate.OnArrival(now, request.Rows);
            _queue.Enqueue(request);
            Decide(now, ref start);
        }

        Start(start);
        return request.Completion;
    }

    /// <summary>Admits one streamed request (ModelStreamInfer) against the same bound as the queue;
    /// false when <see cref="ModelBatchingOptions.MaxQueueSize"/> streamed requests are in flight.</summary>
    public bool TryEnterStream()
    {
        if (Interlocked.Increment(ref _streaming) > _options.MaxQueueSize)
        {
            Interlocked.Decrement(ref _streaming);
            return false;
        }

        return true;
    }

    /// <summary>Releases a streamed request admitted by <see cref="TryEnterStream"/>.</summary>
    public void ExitStream() => Interlocked.Decrement(ref _streaming);

    /// <summary>Answers a request whose call was cancelled (client gone) or whose gRPC deadline passed.</summary>
    public void Cancel(PendingRequest request, bool deadlineExceeded)
    {
        bool removed;
        lock (_gate)
        {
            removed = _queue.Remove(request);
            if (removed)
            {
                _metrics.QueueDepth.Set(_queue.Count);
                CheckDrained();
            }
        }

        if (deadlineExceeded)
        {
            request.TryFail(StatusCode.DeadlineExceeded, removed
                ? $"deadline passed after {Millis(_clock.Now - request.ArrivalNs)} in the queue of model '{_model.Name}'"
                : $"deadline passed while the batch of model '{_model.Name}' was upstream");
        }
        else
        {
            request.TryFail(StatusCode.Cancelled, "the call was cancelled by the client");
        }
    }

    /// <summary>Stops admitting, sends everything queued as soon as slots free (no windows), and
    /// completes <see cref="Drained"/> when every admitted request has been answered.</summary>
    public void BeginDrain()
    {
        List<Batch>? start = null;
        lock (_gate)
        {
            _draining = true;
            Decide(_clock.Now, ref start);
            CheckDrained();
        }

        Start(start);
    }

    /// <summary>Answers every queued request with <paramref name="code"/> (the upstream went down).</summary>
    public void FailQueued(StatusCode code, string message)
    {
        List<PendingRequest> failed;
        lock (_gate)
        {
            _scratch.Clear();
            _queue.RemoveAll(_scratch);
            failed = [.. _scratch];
            _scratch.Clear();
            _windowEnd = long.MaxValue;
            _metrics.QueueDepth.Set(0);
            CheckDrained();
        }

        foreach (var r in failed)
        {
            r.TryFail(code, message);
        }
    }

    private void OnTimer()
    {
        List<Batch>? start = null;
        try
        {
            lock (_gate)
            {
                Decide(_clock.Now, ref start);
            }

            Start(start);
        }
        catch (Exception e)
        {
            Log.TimerFailed(_logger, _model.Name, e);
        }
    }

    /// <summary>The decision point. Runs under the lock.</summary>
    private void Decide(long now, ref List<Batch>? toStart)
    {
        if (_queue.EarliestDeadline <= now)
        {
            ExpireDeadlines(now);
        }

        while (_slots.CanSend && _queue.Count > 0)
        {
            bool ahead = !_slots.HasFreeInstance;
            long start = ahead ? _slots.NextStart(now, _predict) : now;
            long eligibleSince = Math.Max(_queue.OldestArrival, ahead ? start - _leadNs : _lastSlotFreeNs);
            long at = now;
            if (!_draining)
            {
                var context = new BatchContext
                {
                    Now = now,
                    QueuedRows = _queue.Rows,
                    MaxRows = MaxRows,
                    OldestArrival = _queue.OldestArrival,
                    EligibleSince = eligibleSince,
                    EarliestDeadline = _queue.EarliestDeadline,
                    FreeSlots = ahead ? 1 : _slots.Instances - _slots.Executing,
                    EarliestInflightEnd = ahead ? start : _slots.EarliestExecutingEnd,
                    WindowEnd = _windowEnd,
                };
                at = _policy.PlanDispatch(context);
                if (ahead && _queue.Rows < MaxRows)
                {
                    // Sent ahead: no earlier than the lead before an instance frees, so it holds every
                    // request that arrives while the instance is busy (a full batch can go at once).
                    at = Math.Max(at, start - _leadNs);
                }
            }

            if (at > now)
            {
                _windowEnd = at;
                break;
            }

            (toStart ??= []).Add(FormBatch(now, eligibleSince, spilled: false));
        }

        // Spillover: every local slot is busy and the queue is still long, so a peer host takes a whole batch now
        // rather than letting these requests wait for a local slot.
        while (_spill is not null && !_draining && !_slots.CanSend && _queue.Count >= _options.SpillQueueThreshold
            && _queue.Head is { Spillable: true } && _spill.IsAvailable && _spill.TryAcquire())
        {
            (toStart ??= []).Add(FormBatch(now, _queue.OldestArrival, spilled: true));
        }

        if (!_slots.CanSend || _queue.Count == 0)
        {
            _windowEnd = long.MaxValue;
        }

        _metrics.QueueDepth.Set(_queue.Count);
        _timer.Arm(Math.Min(_windowEnd, _queue.EarliestDeadline));
    }

    private void ExpireDeadlines(long now)
    {
        _scratch.Clear();
        _queue.RemoveExpired(now, _scratch);
        foreach (var r in _scratch)
        {
            _metrics.Rejected(Outcomes.DeadlineInQueue);
            r.TryFail(StatusCode.DeadlineExceeded,
                $"deadline passed after {Millis(now - r.ArrivalNs)} in the queue of model '{_model.Name}' before a batch slot was free; not sent upstream");
        }

        _scratch.Clear();
        CheckDrained();
    }

    private Batch FormBatch(long now, long eligibleSince, bool spilled)
    {
        _scratch.Clear();
        int maxRequests = PolicyKind == BatchPolicyKind.None ? 1 : int.MaxValue;
        _queue.TakeBatch(MaxRows, maxRequests, _model.Batches, _scratch, localOnly: spilled);
        var requests = _scratch.ToArray();
        _scratch.Clear();
        long rows = 0;
        foreach (var r in requests)
        {
            rows += r.Rows;
            long queued = now - r.ArrivalNs;
            _metrics.QueueDuration.Observe(queued / 1e9);
            Statistics.Queued(queued);
        }

        int slot = spilled ? SpilledSlot : _slots.Send(now, rows, _predict);
        _windowEnd = long.MaxValue;
        _metrics.BatchSize.Observe(rows);
        _metrics.Window.Observe(Math.Max(0, now - eligibleSince) / 1e9);
        return new Batch(requests, rows, slot);
    }

    private void Start(List<Batch>? batches)
    {
        if (batches == null)
        {
            return;
        }

        foreach (var batch in batches)
        {
            _ = RunAsync(batch);
        }
    }

    private async Task RunAsync(Batch batch)
    {
        ModelInferResponse? response = null;
        RpcException? failure = null;
        var rented = new List<byte[]>();
        long started = _clock.Now;
        string? peer = null;
        try
        {
            var request = BatchAssembler.Build(batch.Requests, batch.Rows, rented);
            if (batch.Slot == SpilledSlot)
            {
                var spilled = await _spill!.InferAsync(request, UpstreamDeadline(batch), CancellationToken.None).ConfigureAwait(false);
                (response, peer) = (spilled.Response, spilled.Peer);
            }
            else
            {
                response = await _upstream.InferAsync(request, UpstreamDeadline(batch), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (RpcException e)
        {
            failure = e;
        }
        catch (Exception e)
        {
            failure = new RpcException(new Status(StatusCode.Internal, e.Message));
        }

        long finished = _clock.Now;
        if (failure == null)
        {
            // The call completed, so the request was fully written: the buffers can be reused.
            foreach (var buffer in rented)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        List<Batch>? next = null;
        long service;
        bool requeued = false;
        lock (_gate)
        {
            bool local = batch.Slot != SpilledSlot;
            if (!local && failure is not null && failure.StatusCode != StatusCode.DeadlineExceeded && !_draining)
            {
                // The peer could not run it: the requests come home to the front of the queue and run here.
                var waiting = batch.Requests.Where(r => !r.IsCompleted).ToList();
                waiting.ForEach(r => r.SpillFailed = true);
                _queue.Requeue(waiting);
                requeued = true;
            }

            service = local ? _slots.Complete(batch.Slot, finished, _predict) : finished - started;
            _lastSlotFreeNs = local ? finished : _lastSlotFreeNs;
            if (local && failure == null && service > 0)
            {
                _latency.Observe(batch.Rows, service);
                _metrics.LatencyIntercept.Set(_latency.InterceptNs / 1e9);
                _metrics.LatencySlope.Set(_latency.SlopeNs / 1e9);
            }

            _metrics.ArrivalRate.Set(_rate.PerSecond(finished));
            Decide(finished, ref next);
        }

        Start(next);
        if (batch.Slot == SpilledSlot)
        {
            _metrics.Spilled(failure == null ? peer ?? "unknown" : "failed", batch.Rows);
        }

        if (requeued)
        {
            Log.SpillReturned(_logger, _model.Name, batch.Requests.Length, failure!.Status.Detail);
            lock (_gate)
            {
                CheckDrained();
            }

            return;
        }
        else
        {
            _metrics.UpstreamDuration.Observe((finished - started) / 1e9);
        }

        if (failure != null)
        {
            FailBatch(batch, failure);
        }
        else
        {
            CompleteBatch(batch, response!, service);
        }

        lock (_gate)
        {
            CheckDrained();
        }
    }

    private void CompleteBatch(Batch batch, ModelInferResponse upstream, long durationNs)
    {
        var responses = new ModelInferResponse[batch.Requests.Length];
        string? error;
        try
        {
            error = BatchAssembler.TrySplit(batch.Requests, upstream, _limits, responses);
        }
        catch (Exception e)
        {
            error = "upstream response could not be split: " + e.Message;
        }

        if (error != null)
        {
            Log.UpstreamMismatch(_logger, _model.Name, batch.Requests.Length, batch.Rows, error);
            foreach (var r in batch.Requests)
            {
                r.TryFail(StatusCode.Internal, error);
            }

            return;
        }

        Statistics.BatchExecuted(batch.Requests.Length, batch.Rows, durationNs);
        for (int i = 0; i < responses.Length; i++)
        {
            batch.Requests[i].TrySucceed(responses[i]);
        }
    }

    private void FailBatch(Batch batch, RpcException failure)
    {
        var code = failure.StatusCode;
        string message = code switch
        {
            StatusCode.Unavailable when batch.Slot == SpilledSlot => $"spilled to a peer host that failed: {failure.Status.Detail}",
            StatusCode.Unavailable => $"upstream is unavailable: {_upstream.Describe()}: {failure.Status.Detail}",
            StatusCode.DeadlineExceeded => $"deadline passed while the batch of model '{_model.Name}' was upstream",
            _ => $"upstream answered {code}: {failure.Status.Detail}",
        };
        if (code is StatusCode.Cancelled)
        {
            code = StatusCode.Unavailable;
        }

        foreach (var r in batch.Requests)
        {
            r.TryFail(code, message);
        }
    }

    private DateTime UpstreamDeadline(Batch batch)
    {
        // The batch may run as long as its most patient request allows, bounded by the upstream timeout.
        long latest = 0;
        foreach (var r in batch.Requests)
        {
            latest = Math.Max(latest, r.GrpcDeadlineNs);
        }

        var fallback = DateTime.UtcNow + _upstreamTimeout;
        if (latest == long.MaxValue)
        {
            return fallback;
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds((latest - _clock.Now) / 1e6);
        return deadline < fallback ? deadline : fallback;
    }

    private void CheckDrained()
    {
        if (_draining && _queue.Count == 0 && _slots.InFlight == 0)
        {
            _drained.TrySetResult();
        }
    }

    private static string Millis(long ns) => $"{ns / 1e6:0.###} ms";

    private static ModelConfig Describe(ModelConfig upstream, ModelBatchingOptions options, BatchPolicyKind policy)
    {
        var config = upstream.Clone();
        if (policy == BatchPolicyKind.None)
        {
            return config;
        }

        var delay = policy == BatchPolicyKind.Fixed ? options.MaxQueueDelay : options.MaxWindow;
        var batching = new ModelDynamicBatching
        {
            MaxQueueDelayMicroseconds = (ulong)(delay.TotalMilliseconds * 1000),
            PriorityLevels = (ulong)options.PriorityLevels,
            DefaultPriorityLevel = (ulong)options.DefaultPriorityLevel,
            DefaultQueuePolicy = new ModelQueuePolicy
            {
                MaxQueueSize = (uint)options.MaxQueueSize,
                DefaultTimeoutMicroseconds = (ulong)(options.Slo.TotalMilliseconds * 1000),
                AllowTimeoutOverride = true,
            },
        };
        if (policy == BatchPolicyKind.Fixed)
        {
            batching.PreferredBatchSize.Add(options.PreferredBatchSizes);
        }

        config.DynamicBatching = batching;
        return config;
    }

    /// <summary>Completes when this model's dispatch thread answers (see <see cref="DispatchTimer.HeartbeatAsync"/>).</summary>
    public Task HeartbeatAsync() => _timer.HeartbeatAsync();

    public void Dispose() => _timer.Dispose();

    /// <summary>The slot of a batch sent to a peer host instead of this host's upstream.</summary>
    private const int SpilledSlot = -1;

    private sealed record Batch(PendingRequest[] Requests, long Rows, int Slot);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Batch timer of model {Model} failed")]
        public static partial void TimerFailed(ILogger logger, string model, Exception exception);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error,
            Message = "Upstream answer for model {Model} does not fit its batch of {Requests} requests / {Rows} rows: {Error}")]
        public static partial void UpstreamMismatch(ILogger logger, string model, int requests, long rows, string error);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Warning,
            Message = "A spilled batch of model {Model} ({Requests} requests) came back from its peer ({Reason}); it runs here")]
        public static partial void SpillReturned(ILogger logger, string model, int requests, string reason);
    }
}
