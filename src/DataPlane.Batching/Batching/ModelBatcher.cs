using DataPlane.Batching.Estimation;
using DataPlane.Batching.Metrics;
using DataPlane.Batching.Models;
using DataPlane.Batching.Options;
using DataPlane.Batching.Policies;
using DataPlane.Batching.Queueing;
using DataPlane.Batching.Upstream;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Sequences;
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
    private readonly TimeProvider _time;
    private readonly Nanoseconds _clock;
    private readonly TimeSpan _upstreamTimeout;
    private readonly RequestQueue _queue;
    private readonly ArrivalRate _rate = new();
    private readonly LatencyModel _latency;
    private readonly IBatchPolicy _policy;
    private readonly IDispatchTimer _timer;
    private readonly UpstreamSlots _slots;
    private readonly long _leadNs;
    private readonly Func<long, double> _predict;
    private readonly List<PendingRequest> _scratch = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<SequenceKey, SequenceLane> _lanes = [];
    private int _sequenceWaiting;
    private int _sequenceRunning;
    private long _sequenceBytes;
    private int _streaming;
    private long _lastSlotFreeNs;
    private long _windowEnd = long.MaxValue;
    private bool _draining;

    /// <summary>Makes the batcher of <paramref name="model"/>. Every time it computes with comes from
    /// <paramref name="time"/> (default: the system clock), and its timer from <paramref name="timers"/> (default:
    /// <see cref="DispatchTimer.Factory"/>, a dedicated thread); a test passes a fake clock and
    /// <see cref="TimeProviderDispatchTimer.Factory"/> on the same clock to drive every decision itself.</summary>
    public ModelBatcher(ModelDescriptor model, ModelBatchingOptions options, IInferenceUpstream upstream, TensorLimits limits,
        BatchingMetrics metrics, ILogger logger, TimeProvider? time = null, TimeSpan? upstreamTimeout = null, ISpillTarget? spill = null,
        DispatchTimerFactory? timers = null)
    {
        _model = model;
        _options = options;
        _upstream = upstream;
        _spill = options.SpillQueueThreshold > 0 ? spill : null;
        _limits = limits;
        _metrics = metrics.ForModel(model.Name);
        _metrics.QueueLimit.Set(options.MaxQueueSize);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _clock = new Nanoseconds(_time);
        _upstreamTimeout = upstreamTimeout ?? TimeSpan.FromSeconds(30);
        _queue = new RequestQueue(Math.Max(1, options.PriorityLevels));
        _latency = new LatencyModel(Nanoseconds.From(options.InitialLatencyIntercept), Nanoseconds.From(options.InitialLatencyPerItem));
        _slots = new UpstreamSlots(options.MaxConcurrentBatches > 0 ? options.MaxConcurrentBatches : model.InstanceCount, options.PipelineDepth);
        _leadNs = Nanoseconds.From(options.PipelineLead);
        _predict = rows => _latency.PredictNs(rows);
        MaxRows = !model.Batches ? 1 : options.MaxBatchSize > 0 ? Math.Min(options.MaxBatchSize, model.MaxBatchSize) : model.MaxBatchSize;
        PolicyKind = model.Batches && !model.Sequential ? options.Policy : BatchPolicyKind.None;
        _policy = PolicyKind switch
        {
            BatchPolicyKind.Fixed => new FixedPolicy(options.MaxQueueDelay, options.PreferredBatchSizes),
            BatchPolicyKind.None => PassThroughPolicy.Instance,
            _ => new AdaptivePolicy(_rate, _latency, options.MinWindow, options.MaxWindow),
        };
        Statistics = new ModelStatisticsCollector(model.MaxBatchSize);
        EffectiveConfig = Describe(model.Config, options, PolicyKind);
        _timer = (timers ?? DispatchTimer.Factory)($"dp-batch:{model.Name}", () => _clock.Now, OnTimer);
        _metrics.LatencyIntercept.Set(_latency.InterceptNs / 1e9);
        _metrics.LatencySlope.Set(_latency.SlopeNs / 1e9);
        _metrics.Instances.Set(_slots.Instances);
        _metrics.MaxBatchRows.Set(MaxRows);
        _metrics.Slo.Set(options.Slo > TimeSpan.Zero ? options.Slo.TotalSeconds : 0);
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
    /// priority levels, queue size and SLO. Models served without batching keep the upstream's, and so do
    /// stateful models: their <c>sequence_batching</c> says Triton's sequence batcher schedules them.</summary>
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

    /// <summary>Maps a request's <c>priority</c> parameter (1 = highest; 0, absent or above the levels = default, as in
    /// Triton) to a level index, with Triton's texts for a negative or mistyped value.</summary>
    public RequestError? TryGetLevel(ModelInferRequest request, out int level)
    {
        level = Math.Clamp(_options.DefaultPriorityLevel, 1, _queue.Levels) - 1;
        if (!request.Parameters.TryGetValue("priority", out var p))
        {
            return null;
        }

        ulong value;
        switch (p.ParameterChoiceCase)
        {
            case InferParameter.ParameterChoiceOneofCase.Int64Param when p.Int64Param < 0:
                return new(StatusCode.InvalidArgument, "invalid value for 'priority', expected value >= 0.");
            case InferParameter.ParameterChoiceOneofCase.Int64Param:
                value = (ulong)p.Int64Param;
                break;
            case InferParameter.ParameterChoiceOneofCase.Uint64Param:
                value = p.Uint64Param;
                break;
            default:
                return new(StatusCode.InvalidArgument, "invalid value type for 'priority' parameter, expected int64_param or uint64_param.");
        }

        // As in Triton: 0, or a value above the model's levels, means the default level.
        if (value > 0 && value <= (ulong)_queue.Levels)
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
            if (t.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param)
            {
                return new(StatusCode.InvalidArgument, "invalid value type for 'timeout' parameter, expected int64_param.");
            }

            if (t.Int64Param < 0)
            {
                return new(StatusCode.InvalidArgument, $"invalid value for 'timeout', expected value >= 0 (microseconds), got {t.Int64Param}.");
            }

            if (t.Int64Param > 0)
            {
                deadlineNs = Math.Min(deadlineNs, arrivalNs + (Math.Min(t.Int64Param, long.MaxValue / 2000) * 1000));
            }
        }

        return null;
    }

    /// <summary>Requests admitted and not yet sent upstream: the batch queue and the sequence steps waiting
    /// for their turn.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _sequenceWaiting;
            }
        }
    }

    /// <summary>Admits a validated request. The returned task completes with its response or an
    /// <see cref="RpcException"/>; it never stays pending after <see cref="Drained"/>. A full queue is
    /// Triton's UNAVAILABLE <c>Exceeds maximum queue size</c>; a request whose input bytes would take the
    /// waiting requests past <see cref="ModelBatchingOptions.MaxQueueBytes"/> is RESOURCE_EXHAUSTED.</summary>
    public Task<ModelInferResponse> Submit(PendingRequest request)
    {
        List<Batch>? start = null;
        PendingRequest? step = null;
        lock (_gate)
        {
            if (_draining)
            {
                _metrics.Rejected(Outcomes.ShuttingDown);
                request.TryFail(StatusCode.Unavailable,
                    TritonErrors.RequestPrefix(request.Message.Id) + "Server is stopping, scheduler for model has stopped accepting new inference requests");
                return request.Completion;
            }

            int waiting = _queue.Count + _sequenceWaiting;
            if (waiting >= _options.MaxQueueSize)
            {
                _metrics.Rejected(Outcomes.QueueFull);
                request.TryFail(StatusCode.Unavailable,
                    $"{TritonErrors.QueueFull(request.Message.Id)}: model '{_model.Name}' has {waiting} requests waiting, its limit; retry later");
                return request.Completion;
            }

            long held = _queue.Bytes + _sequenceBytes;
            if (held + request.Bytes > _options.MaxQueueBytes)
            {
                _metrics.Rejected(Outcomes.QueueBytes);
                request.TryFail(StatusCode.ResourceExhausted,
                    $"request of {request.Bytes} bytes would take the waiting requests of model '{_model.Name}' from {held} to {held + request.Bytes} bytes, " +
                    $"over its budget of {_options.MaxQueueBytes} bytes (MaxQueueBytes); retry later");
                return request.Completion;
            }

            long now = request.ArrivalNs;
            if (!request.Sequenced && Refusal(request, now) is { } refusal)
            {
                _metrics.Rejected(Outcomes.PredictedLate);
                request.TryFail(StatusCode.ResourceExhausted, refusal);
                return request.Completion;
            }

            request.Admitted = true;
            if (request.Sequenced)
            {
                step = EnqueueStep(request);
            }
            else
            {
                _rate.OnArrival(now, request.Rows);
                _queue.Enqueue(request);
                Decide(now, ref start);
            }

            _metrics.QueueDepth.Set(_queue.Count + _sequenceWaiting);
        }

        if (step != null)
        {
            _ = RunStepsAsync(step);
        }

        Start(start);
        return request.Completion;
    }

    /// <summary>Deadline-aware admission, under the lock: the time until <paramref name="request"/> would be answered if
    /// it were queued now (the wait for an instance, the full batches ahead of it at its priority, then its own batch,
    /// each from the fitted latency model). A request that would finish past its deadline, or wait longer than
    /// <see cref="ModelBatchingOptions.MaxQueueTime"/>, is refused now (null: admit) rather than queued to expire.</summary>
    private string? Refusal(PendingRequest request, long now)
    {
        long rowsAhead = _queue.RowsThrough(request.Level);
        if (rowsAhead == 0 && _slots.HasFreeInstance)
        {
            return null; // goes at once: nothing to predict
        }

        long maxRows = Math.Max(1, MaxRows);
        long wait = PredictedWaitNs(rowsAhead, now);
        long done = now + wait + (long)_latency.PredictNs(Math.Min(maxRows, (rowsAhead % maxRows) + request.Rows));
        if (done > request.ClientDeadlineNs)
        {
            return $"predicted completion in {Millis(done - now)} (queue wait {Millis(wait)}; {Ahead(rowsAhead)}) is past the request's deadline " +
                $"in {Millis(request.ClientDeadlineNs - now)}; not queued for model '{_model.Name}', retry later or on another host";
        }

        long maxWait = Nanoseconds.From(_options.MaxQueueTime);
        if (maxWait > 0 && wait > maxWait)
        {
            return $"predicted queue wait {Millis(wait)} ({Ahead(rowsAhead)}) is longer than model '{_model.Name}' keeps a request waiting " +
                $"({Millis(maxWait)}, MaxQueueTimeMs); not queued, retry later or on another host";
        }

        return null;
    }

    /// <summary>Under the lock, for a refusal's message only (an admitted request formats nothing): what is queued ahead
    /// and the latency model the prediction used.</summary>
    private string Ahead(long rowsAhead) =>
        $"{_queue.Count} requests ({rowsAhead} rows) ahead, upstream {_latency.InterceptNs / 1e6:0.###} ms + {_latency.SlopeNs / 1e6:0.###} ms per row";

    /// <summary>Under the lock: how long a request queued now behind <paramref name="rowsAhead"/> rows would wait for an
    /// instance (the wait for the earliest executing batch, then the full batches ahead and those sent ahead, each from
    /// the fitted latency model). The prediction deadline-aware admission refuses by, and the load report carries.</summary>
    private long PredictedWaitNs(long rowsAhead, long now)
    {
        if (rowsAhead == 0 && _slots.HasFreeInstance)
        {
            return 0;
        }

        long maxRows = Math.Max(1, MaxRows);
        int instances = Math.Max(1, _slots.Instances);
        long freeAt = _slots.HasFreeInstance ? now : Math.Max(now, _slots.EarliestExecutingEnd);
        long waves = ((rowsAhead / maxRows) + Math.Max(0, _slots.InFlight - instances)) / instances;
        return (freeAt - now) + (waves * (long)_latency.PredictNs(maxRows));
    }

    /// <summary>The model's load as reported to callers (ORCA trailer, HTTP header, the ModelReady probe): requests
    /// waiting, batches in flight upstream, streamed requests in flight, and the queue wait predicted for a request of
    /// one row arriving now at the default priority (the admission prediction).</summary>
    public ModelLoad Load()
    {
        int streams = Volatile.Read(ref _streaming);
        lock (_gate)
        {
            long now = _clock.Now;
            int level = Math.Clamp(_options.DefaultPriorityLevel, 1, _queue.Levels) - 1;
            long wait = PredictedWaitNs(_queue.RowsThrough(level), now);
            return new ModelLoad(_queue.Count + _sequenceWaiting, _slots.InFlight, streams, Math.Max(0, wait) / 1e6);
        }
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
            request.TryFail(StatusCode.DeadlineExceeded, request.Sequenced && !removed
                ? $"deadline passed while sequence {request.Sequence} of model '{_model.Name}' was waiting or upstream"
                : removed
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
            foreach (var lane in _lanes.Values)
            {
                while (lane.Waiting.TryDequeue(out var step))
                {
                    _sequenceWaiting--;
                    _sequenceBytes -= step.Bytes;
                    _scratch.Add(step);
                }
            }

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

        _metrics.QueueDepth.Set(_queue.Count + _sequenceWaiting);
        _timer.Arm(Math.Min(_windowEnd, _queue.EarliestDeadline));
    }

    private void ExpireDeadlines(long now)
    {
        _scratch.Clear();
        _queue.RemoveExpired(now, _scratch);
        foreach (var r in _scratch)
        {
            _metrics.Rejected(Outcomes.DeadlineInQueue);
            if (r.BoundByQueueTime)
            {
                // The queue-time bound, as Triton's queue policy answers a timed-out request.
                r.TryFail(StatusCode.Unavailable, "Request timeout expired");
            }
            else
            {
                r.TryFail(StatusCode.DeadlineExceeded,
                    $"deadline passed after {Millis(now - r.ArrivalNs)} in the queue of model '{_model.Name}' before a batch slot was free; not sent upstream");
            }
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
            _metrics.QueueDuration.Observe((now - r.ArrivalNs) / 1e9);
        }

        int slot = spilled ? SpilledSlot : _slots.Send(now, rows, _predict);
        _windowEnd = long.MaxValue;
        _metrics.BatchSize.Observe(rows);
        _metrics.Window.Observe(Math.Max(0, now - eligibleSince) / 1e9);
        return new Batch(requests, rows, slot, now);
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
        long built = started;
        string? peer = null;
        var (batchSpan, callSpan) = Tracing.DaemonTracing.Enabled
            ? Tracing.DaemonTracing.StartBatch(batch.Requests, _model.Name, batch.Rows, started, batch.Slot == SpilledSlot ? null : (_upstream as TritonUpstream)?.Address)
            : default;
        try
        {
            var request = BatchAssembler.Build(batch.Requests, batch.Rows, rented);
            built = _clock.Now;
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
        Tracing.DaemonTracing.EndUpstream(batchSpan, callSpan, failure);
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
        bool local = batch.Slot >= 0;
        lock (_gate)
        {
            if (batch.Slot == SpilledSlot && failure is not null && failure.StatusCode != StatusCode.DeadlineExceeded && !_draining)
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

        _metrics.UpstreamDuration.Observe((finished - started) / 1e9);
        if (failure != null)
        {
            FailBatch(batch, failure);
        }
        else
        {
            CompleteBatch(batch, response!, built - started, finished - built, finished);
        }

        lock (_gate)
        {
            CheckDrained();
        }
    }

    private void CompleteBatch(Batch batch, ModelInferResponse upstream, long inputNs, long inferNs, long answeredNs)
    {
        long splitStart = _clock.Now;
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

        var failed = new RequestError?[responses.Length];
        for (int i = 0; i < responses.Length; i++)
        {
            if (batch.Requests[i].SharedMemoryOutputs is { } shm && !batch.Requests[i].IsCompleted)
            {
                failed[i] = shm.TryWrite(responses[i]);
            }
        }

        var times = new RequestTimes(0, inputNs, inferNs, _clock.Now - splitStart);
        Statistics.Executed(batch.Rows, times);
        for (int i = 0; i < responses.Length; i++)
        {
            var r = batch.Requests[i];
            r.Times = times with { QueueNs = Math.Max(0, batch.FormedNs - r.ArrivalNs) };
            r.DispatchedNs = batch.FormedNs;
            r.UpstreamAnsweredNs = answeredNs;
            if (failed[i] is { } e)
            {
                r.TryFail(e.Code, e.Message);
            }
            else
            {
                r.TrySucceed(responses[i]);
            }
        }
    }

    /// <summary>Answers a batch the upstream failed: a lost connection is UNAVAILABLE naming the upstream, a deadline
    /// is DEADLINE_EXCEEDED, and any answer of the upstream's own (a validation error, a sequence error) reaches
    /// the client verbatim, as if it had called Triton itself.</summary>
    private void FailBatch(Batch batch, RpcException failure)
    {
        var code = failure.StatusCode;
        bool connection = TritonUpstream.IsTransportFailure(failure);
        string message = code switch
        {
            StatusCode.Unavailable when batch.Slot == SpilledSlot => $"spilled to a peer host that failed: {failure.Status.Detail}",
            StatusCode.Unavailable when connection => $"upstream is unavailable: {_upstream.Describe()}: {failure.Status.Detail}",
            StatusCode.DeadlineExceeded => $"deadline passed while the batch of model '{_model.Name}' was upstream",
            StatusCode.Cancelled => $"upstream cancelled the batch of model '{_model.Name}': {failure.Status.Detail}",
            _ => failure.Status.Detail,
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

    /// <summary>Queues a sequence step behind the steps of its sequence already admitted; returns it when it may go
    /// upstream at once (no step of its sequence is upstream). Under the lock.</summary>
    private PendingRequest? EnqueueStep(PendingRequest request)
    {
        if (!request.Sequence.IsSequence)
        {
            // A stateful model's request without a sequence id: nothing to order it against; the upstream answers it.
            _sequenceRunning++;
            return request;
        }

        var key = request.Sequence.Identity;
        if (!_lanes.TryGetValue(key, out var lane))
        {
            _lanes[key] = lane = new SequenceLane();
        }

        if (!lane.Running)
        {
            lane.Running = true;
            _sequenceRunning++;
            return request;
        }

        lane.Waiting.Enqueue(request);
        _sequenceWaiting++;
        _sequenceBytes += request.Bytes;
        return null;
    }

    /// <summary>Sends the steps of one sequence upstream one at a time, in arrival order, each alone, until the
    /// sequence has no step waiting. A step whose deadline passed while it waited is answered DEADLINE_EXCEEDED
    /// without being sent.</summary>
    private async Task RunStepsAsync(PendingRequest first)
    {
        for (var step = first; step != null; step = NextStep(step))
        {
            long now = _clock.Now;
            if (step.IsCompleted)
            {
                continue;
            }

            if (step.DeadlineNs <= now)
            {
                _metrics.Rejected(Outcomes.DeadlineInQueue);
                step.TryFail(StatusCode.DeadlineExceeded,
                    $"deadline passed after {Millis(now - step.ArrivalNs)} waiting behind earlier steps of sequence {step.Sequence} of model '{_model.Name}'; not sent upstream");
                continue;
            }

            _metrics.QueueDuration.Observe((now - step.ArrivalNs) / 1e9);
            _metrics.BatchSize.Observe(step.Rows);
            await RunAsync(new Batch([step], step.Rows, SequenceSlot, now)).ConfigureAwait(false);
        }
    }

    /// <summary>The next waiting step of <paramref name="previous"/>'s sequence, or null when the sequence has none
    /// (its lane is then retired).</summary>
    private PendingRequest? NextStep(PendingRequest previous)
    {
        lock (_gate)
        {
            var key = previous.Sequence.Identity;
            if (previous.Sequence.IsSequence && _lanes.TryGetValue(key, out var lane))
            {
                if (lane.Waiting.TryDequeue(out var next))
                {
                    _sequenceWaiting--;
                    _sequenceBytes -= next.Bytes;
                    _metrics.QueueDepth.Set(_queue.Count + _sequenceWaiting);
                    return next;
                }

                _lanes.Remove(key);
            }

            _sequenceRunning--;
            CheckDrained();
            return null;
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

        var utcNow = _time.GetUtcNow().UtcDateTime;
        var fallback = utcNow + _upstreamTimeout;
        if (latest == long.MaxValue)
        {
            return fallback;
        }

        var deadline = utcNow + TimeSpan.FromMilliseconds((latest - _clock.Now) / 1e6);
        return deadline < fallback ? deadline : fallback;
    }

    private void CheckDrained()
    {
        if (_draining && _queue.Count == 0 && _slots.InFlight == 0 && _sequenceRunning == 0)
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
                DefaultTimeoutMicroseconds = (ulong)(QueueTimeout(options).TotalMilliseconds * 1000),
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

    /// <summary>The longest a request waits in the queue without its own deadline: the SLO or the queue-time bound,
    /// whichever is shorter (zero: none).</summary>
    private static TimeSpan QueueTimeout(ModelBatchingOptions options) =>
        options.Slo > TimeSpan.Zero && options.MaxQueueTime > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(options.Slo.Ticks, options.MaxQueueTime.Ticks))
        : options.Slo > TimeSpan.Zero ? options.Slo
        : options.MaxQueueTime;

    /// <summary>Completes when this model's timer answers (see <see cref="DispatchTimer.HeartbeatAsync"/>).</summary>
    public Task HeartbeatAsync() => _timer.HeartbeatAsync();

    public void Dispose() => _timer.Dispose();

    /// <summary>The slot of a batch sent to a peer host instead of this host's upstream.</summary>
    private const int SpilledSlot = -1;

    /// <summary>The slot of a sequence step: Triton's sequence batcher schedules it, not this batcher's slots.</summary>
    private const int SequenceSlot = -2;

    private sealed record Batch(PendingRequest[] Requests, long Rows, int Slot, long FormedNs);

    /// <summary>The steps of one sequence: one upstream at a time, the rest waiting in arrival order.</summary>
    private sealed class SequenceLane
    {
        public Queue<PendingRequest> Waiting { get; } = new();

        public bool Running { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Batch timer of model {Model} failed")]
        public static partial void TimerFailed(ILogger logger, string model, Exception exception);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Error,
            Message = "Upstream answer for model {Model} does not fit its batch of {Requests} requests / {Rows} rows: {Error}")]
        public static partial void UpstreamMismatch(ILogger logger, string model, int requests, long rows, string error);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Warning,
            Message = "A spilled batch of model {Model} ({Requests} requests) came back from its peer ({Reason}); it runs here")]
        public static partial void SpillReturned(ILogger logger, string model, int requests, string reason);
    }
}
