using System.Diagnostics;
using DataPlane.Edge.Api;
using DataPlane.Edge.Gpu;
using DataPlane.Edge.Routing;
using DataPlane.Edge.Runtimes;
using DataPlane.Edge.Tracing;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Serving;

/// <summary>Answers one client request: decides the route, runs the local runtime and/or the GPU
/// pool, and streams the winner to the client.
/// <list type="bullet">
/// <item><b>local</b>: the local runtime answers. Its first k tokens' probabilities are watched; when
/// their low quantile is under the threshold and the client can still take a better answer (a JSON
/// request, or a stream in replace mode), the GPU request starts and the request becomes speculative.</item>
/// <item><b>escalate</b>: the GPU pool answers, hedged: if its first token has not arrived by the hedge
/// delay (about the p95 of recent GPU time to first token, never later than the SLO minus the local
/// runtime's time to first token), the local runtime starts too and the first to produce a token
/// answers. A GPU failure before its first token falls back to the local runtime (path degraded).</item>
/// <item><b>speculative</b>: both start at once. Append-only (the default, safe for every client): a
/// stream sends local tokens as they come, so the GPU answer is used only if it is complete before the
/// local answer's first token; a JSON answer is whichever completes first. Replace mode (opt-in): local
/// tokens stream at once and, when the GPU answer is complete, a replace event is sent followed by the
/// GPU text. The losing side's request is cancelled.</item>
/// </list>
/// While the GPU circuit breaker is open, or no GPU pool is configured, requests that wanted the GPU
/// are answered locally and marked <c>degraded</c>.
/// <para>Local capacity (<see cref="LocalCapacity"/>): every local generation holds one of the runtime's slots from
/// before it is sent until its answer ends, however it ends. With every slot held, a request the GPU pool can take
/// escalates (<c>local_busy</c>; a hedge starts locally only if a slot is free by then); one it cannot (the pool is
/// down, or the client forced local) waits in the bounded local queue for as long as its latency objective allows
/// (objective − time since arrival − local time to first token), and is refused with
/// <see cref="LocalBusyException"/> (429 with Retry-After) when the queue is full or the wait would be too long.</para></summary>
public sealed partial class EdgeService
{
    private readonly ILocalRuntime _local;
    private readonly GpuPool _gpu;
    private readonly PromptClassifier _classifier;
    private readonly RoutingOptions _routing;
    private readonly EdgeOptions _options;
    private readonly CircuitBreaker _breaker;
    private readonly HedgeDelay _hedge;
    private readonly LatencyTracker _localTtft;
    private readonly EdgeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LocalCapacity _capacity;

    public EdgeService(ILocalRuntime local, GpuPool gpu, PromptClassifier classifier, RoutingOptions routing, EdgeOptions options,
        CircuitBreaker breaker, HedgeDelay hedge, EdgeMetrics metrics, ILogger<EdgeService> logger, TimeProvider? time = null,
        LocalCapacity? capacity = null)
    {
        _local = local;
        _gpu = gpu;
        _classifier = classifier;
        _routing = routing;
        _options = options;
        _breaker = breaker;
        _hedge = hedge;
        _time = time ?? TimeProvider.System;
        _localTtft = new LatencyTracker(time: _time);
        _metrics = metrics;
        _logger = logger;
        _capacity = capacity ?? new LocalCapacity(new LocalCapacityOptions(), _time, metrics);
        _metrics.BreakerState.Set(StateValue(breaker.State));
        breaker.StateChanged += t =>
        {
            _metrics.BreakerState.Set(StateValue(t.To));
            _metrics.BreakerTransitions.WithLabels(t.To.ToString().ToLowerInvariant()).Inc();
        };
    }

    private static double StateValue(CircuitState state) => state switch
    {
        CircuitState.Closed => 0,
        CircuitState.HalfOpen => 1,
        _ => 2,
    };

    /// <summary>Median local time to first token, or the configured guess before any was measured.</summary>
    public TimeSpan LocalTimeToFirstToken => _localTtft.Percentile(0.5) ?? _options.InitialLocalTtft;

    public EdgeOptions Options => _options;

    public ILocalRuntime Local => _local;

    public GpuPool Gpu => _gpu;

    public CircuitBreaker Breaker => _breaker;

    /// <summary>The local runtime's generations at once: held, waiting, capacity.</summary>
    public LocalCapacity LocalCapacity => _capacity;

    /// <summary>Decides the route of <paramref name="request"/>: hard rules, a forced mode, then the
    /// prompt classifier against the calibrated threshold. Logged with its reasons and counted.</summary>
    public RoutingDecision Decide(EdgeRequest request)
    {
        long start = Stopwatch.GetTimestamp();
        var forced = request.Mode switch
        {
            RequestedMode.Local => ForcedMode.Local,
            RequestedMode.Gpu => ForcedMode.Gpu,
            RequestedMode.Speculative => ForcedMode.Speculative,
            _ => ForcedMode.None,
        };
        double? score = forced == ForcedMode.None ? _classifier.Score(request.RoutingText) : null;
        var decision = DecisionRules.Decide(new DecisionInput
        {
            Model = request.Model,
            PromptChars = request.PromptCharacters,
            MaxTokens = request.MaxTokens,
            Forced = forced,
            Score = score,
            GpuUnavailable = !GpuAvailable,
            LocalBusy = _capacity.IsFull,
        }, _routing);
        _metrics.DecisionTime.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
        _metrics.Decisions.WithLabels(RouteName(decision.Route), decision.Reason).Inc();
        Log.Decided(_logger, request.Model, RouteName(decision.Route), decision.Reason, score ?? double.NaN, request.PromptCharacters);
        return decision;
    }

    /// <summary>False when no GPU pool is configured or its circuit breaker is open.</summary>
    public bool GpuAvailable => _gpu.Configured && _breaker.State != CircuitState.Open;

    /// <summary>Serves a decided request into <paramref name="sink"/>. Returns the path that answered,
    /// or throws <see cref="EdgeUnavailableException"/> when neither side could answer before anything was sent.</summary>
    public async Task<string> ServeAsync(EdgeRequest request, RoutingDecision decision, IAnswerSink sink, long arrivedAt,
        CancellationToken cancellationToken)
    {
        _metrics.Inflight.Inc();
        var span = AgentTracing.StartRequest(request, decision);
        request = span == null ? request : request with { TraceParent = span.Id };
        var call = new Call(this, request, decision, sink, arrivedAt, cancellationToken);
        string path = "none";
        int status = 499;
        try
        {
            path = await call.RunAsync().ConfigureAwait(false);
            _metrics.Requests.WithLabels(path, "ok").Inc();
            status = 200;
            return path;
        }
        catch (LocalBusyException) when (!cancellationToken.IsCancellationRequested)
        {
            _metrics.Requests.WithLabels(call.Path ?? path, "refused").Inc();
            throw;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _metrics.Requests.WithLabels(call.Path ?? path, "error").Inc();
            status = 503;
            throw;
        }
        finally
        {
            AgentTracing.EndRequest(span, call.Path ?? path, status, call.Reason);
            _metrics.Inflight.Dec();
            _metrics.Duration.WithLabels(call.Path ?? path).Observe(_time.GetElapsedTime(arrivedAt).TotalSeconds);
            await call.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string RouteName(Route route) => route switch
    {
        Route.Local => "local",
        Route.Escalate => "escalate",
        _ => "speculative",
    };

    /// <summary>The state of one request being served.</summary>
    private sealed class Call : IAsyncDisposable
    {
        private readonly EdgeService _s;
        private readonly EdgeRequest _request;
        private readonly RoutingDecision _decision;
        private readonly IAnswerSink _sink;
        private readonly long _arrivedAt;
        private readonly CancellationToken _ct;
        private readonly int _maxTokens;
        private TokenSource? _localSource;
        private TokenSource? _gpuSource;
        private LocalSlot? _localSlot;
        private TokenConfidence? _confidence;
        private string _reason;
        private bool _replaced;
        private long _firstSent;

        public Call(EdgeService s, EdgeRequest request, RoutingDecision decision, IAnswerSink sink, long arrivedAt, CancellationToken ct)
        {
            _s = s;
            _request = request;
            _decision = decision;
            _sink = sink;
            _arrivedAt = arrivedAt;
            _ct = ct;
            _reason = decision.Reason;
            _maxTokens = request.MaxTokens ?? s._options.DefaultMaxTokens;
        }

        public string? Path { get; private set; }

        /// <summary>Why the answering path was taken (the decision's reason, or what changed it).</summary>
        public string Reason => _reason;

        private TimeSpan Slo => _request.Slo ?? _s._options.DefaultSlo;

        public async Task<string> RunAsync()
        {
            switch (_decision.Route)
            {
                case Route.Local:
                    return await LocalAsync(_decision.Reason == RoutingReasons.GpuUnavailable ? "degraded" : "local").ConfigureAwait(false);
                case Route.Escalate:
                    return _s.GpuAvailable ? await EscalateAsync().ConfigureAwait(false) : await Degrade("gpu_unavailable").ConfigureAwait(false);
                default:
                    return _s.GpuAvailable ? await SpeculateAsync().ConfigureAwait(false) : await Degrade("gpu_unavailable").ConfigureAwait(false);
            }
        }

        private Task<string> Degrade(string reason)
        {
            _reason = reason;
            return LocalAsync("degraded");
        }

        // --- local -------------------------------------------------------------------------------

        private async Task<string> LocalAsync(string path)
        {
            if (!_s._capacity.TryAcquire(out var slot))
            {
                if (path == "local" && _decision.Reason != RoutingReasons.ForcedLocal && _s.GpuAvailable)
                {
                    // Filled up since the decision: the pool takes it, as the decision would have said a moment later.
                    return await EscalateBusyAsync().ConfigureAwait(false);
                }

                slot = await WaitForLocalAsync().ConfigureAwait(false);
            }

            var local = StartLocal(slot!);
            try
            {
                await local.FirstToken.ConfigureAwait(false);
            }
            catch (Exception) when (!_ct.IsCancellationRequested && path == "local" && _s.GpuAvailable)
            {
                // The local runtime is down: the GPU pool answers instead.
                _reason = "local_unavailable";
                return await GpuOnlyAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (!_ct.IsCancellationRequested)
            {
                throw new EdgeUnavailableException($"the local runtime ({_s._local.Name}) failed and the GPU pool is not available: {e.Message}", e);
            }

            Path = path;
            await _sink.BeginAsync(path, _ct).ConfigureAwait(false);
            bool escalated = false;
            await foreach (string token in local.Tokens.ReadAllAsync(_ct).ConfigureAwait(false))
            {
                if (!escalated && path == "local" && ShouldEscalateOnConfidence())
                {
                    escalated = true;
                    if (!_request.Stream || _request.Replace)
                    {
                        // Not yet committed (JSON) or committed with replace allowed: race the GPU from here.
                        _reason = RoutingReasons.LowTokenConfidence;
                        _s._metrics.Decisions.WithLabels("escalate", RoutingReasons.LowTokenConfidence).Inc();
                        return await UpgradeToSpeculativeAsync(token).ConfigureAwait(false);
                    }
                }

                await SendAsync(token).ConfigureAwait(false);
            }

            await local.Completion.ConfigureAwait(false);
            await FinishAsync(local, path, answeredBy: "local").ConfigureAwait(false);
            return path;
        }

        /// <summary>The local runtime is full and the GPU pool can take the request: escalate it (hedged: a local
        /// answer starts only if a slot has freed by the hedge delay).</summary>
        private Task<string> EscalateBusyAsync()
        {
            _reason = RoutingReasons.LocalBusy;
            _s._metrics.Decisions.WithLabels("escalate", RoutingReasons.LocalBusy).Inc();
            return EscalateAsync();
        }

        /// <summary>Waits for a local slot in the bounded queue, for as long as the request's objective allows:
        /// the objective, less the time since arrival, less the local runtime's own time to first token.</summary>
        /// <exception cref="LocalBusyException">Refused: the queue is full or the wait would be too long.</exception>
        private async Task<LocalSlot> WaitForLocalAsync()
        {
            var budget = Slo - _s._time.GetElapsedTime(_arrivedAt) - _s.LocalTimeToFirstToken;
            var admission = await _s._capacity.WaitAsync(budget, _ct).ConfigureAwait(false);
            if (admission.Slot is { } slot)
            {
                _localSlot = slot;
                return slot;
            }

            Log.LocalBusy(_s._logger, _request.Model, _s._capacity.Capacity, _s._capacity.Queued,
                admission.Refusal == LocalRefusal.QueueFull ? "the queue is full" : "the wait would outlast the latency objective",
                admission.RetryAfter.TotalSeconds);
            throw new LocalBusyException(admission.Refusal, admission.RetryAfter, _s._capacity.Capacity, (int)Slo.TotalMilliseconds);
        }

        private bool ShouldEscalateOnConfidence() =>
            _confidence is { IsReady: true } c && _s.GpuAvailable && DecisionRules.OnTokenConfidence(_decision, c, _s._routing) != null;

        /// <summary>A local answer lost confidence: the GPU request starts now; the local tokens so far
        /// (including <paramref name="pending"/>) stay the fallback.</summary>
        private async Task<string> UpgradeToSpeculativeAsync(string pending)
        {
            Path = "speculative";
            await SendAsync(pending).ConfigureAwait(false);
            var gpu = StartGpu();
            return await FinishSpeculativeAsync(_localSource!, gpu).ConfigureAwait(false);
        }

        // --- escalate ----------------------------------------------------------------------------

        private async Task<string> EscalateAsync()
        {
            var gpu = StartGpu();
            var hedgeDelay = _s._hedge.Current(Slo, _s.LocalTimeToFirstToken);
            _s._metrics.HedgeDelay.Set(hedgeDelay.TotalSeconds);
            var first = await Task.WhenAny(gpu.FirstToken, Task.Delay(hedgeDelay, _s._time, _ct)).ConfigureAwait(false);
            _ct.ThrowIfCancellationRequested();
            if (first == gpu.FirstToken)
            {
                if (gpu.FirstToken.IsFaulted || !gpu.HasToken)
                {
                    return await GpuFailedAsync(gpu).ConfigureAwait(false);
                }

                return await StreamAsync(gpu, "gpu", "gpu").ConfigureAwait(false);
            }

            // Hedge: the GPU is late. Start locally, if the runtime has a free slot, and take whichever produces a
            // token first; a full runtime's answer would be later still, so then the GPU answers alone.
            AgentTracing.Event("hedge");
            if (!_s._capacity.TryAcquire(out var slot))
            {
                await Task.WhenAny(gpu.FirstToken).ConfigureAwait(false);
                _ct.ThrowIfCancellationRequested();
                if (gpu.FirstToken.IsFaulted || !gpu.HasToken)
                {
                    return await GpuFailedAsync(gpu).ConfigureAwait(false);
                }

                return await StreamAsync(gpu, "gpu", "gpu").ConfigureAwait(false);
            }

            var local = StartLocal(slot!);
            var winner = await Task.WhenAny(gpu.FirstToken, local.FirstToken).ConfigureAwait(false);
            if (winner == gpu.FirstToken && gpu.HasToken)
            {
                _s._metrics.Hedges.WithLabels("gpu").Inc();
                Cancel(local);
                return await StreamAsync(gpu, "gpu", "gpu").ConfigureAwait(false);
            }

            if (winner == gpu.FirstToken)
            {
                // The GPU failed while the local runtime was starting.
                return await GpuFailedAsync(gpu).ConfigureAwait(false);
            }

            _s._metrics.Hedges.WithLabels("local").Inc();
            if (local.FirstToken.IsFaulted || !local.HasToken)
            {
                // The local runtime failed: wait for the GPU after all.
                await gpu.FirstToken.ConfigureAwait(false);
                return await StreamAsync(gpu, "gpu", "gpu").ConfigureAwait(false);
            }

            _reason = "hedge";
            Cancel(gpu);
            return await StreamAsync(local, "local", "local").ConfigureAwait(false);
        }

        private async Task<string> GpuFailedAsync(TokenSource gpu)
        {
            try
            {
                await gpu.Completion.ConfigureAwait(false);
            }
            catch (Exception e) when (!_ct.IsCancellationRequested)
            {
                Log.GpuFailed(_s._logger, _request.Model, e.Message);
            }

            _reason = "gpu_failed";
            if (_localSource is { } started)
            {
                return await StreamAsync(started, "degraded", "local").ConfigureAwait(false);
            }

            return await LocalAsync("degraded").ConfigureAwait(false);
        }

        private async Task<string> GpuOnlyAsync()
        {
            var gpu = StartGpu();
            await gpu.FirstToken.ConfigureAwait(false);
            return await StreamAsync(gpu, "gpu", "gpu").ConfigureAwait(false);
        }

        // --- speculative -------------------------------------------------------------------------

        private async Task<string> SpeculateAsync()
        {
            if (!_s._capacity.TryAcquire(out var slot))
            {
                // Filled up since the decision: the GPU alone.
                return await EscalateBusyAsync().ConfigureAwait(false);
            }

            Path = "speculative";
            var local = StartLocal(slot!);
            var gpu = StartGpu();
            if (!_request.Stream)
            {
                return await FirstCompleteAsync(local, gpu).ConfigureAwait(false);
            }

            if (!_request.Replace)
            {
                // Append-only: the GPU answer is used only if it is complete before the first local token.
                var first = await Task.WhenAny(local.FirstToken, gpu.Completion).ConfigureAwait(false);
                if (first == gpu.Completion && gpu.Completion.IsCompletedSuccessfully && gpu.HasToken)
                {
                    Cancel(local);
                    return await StreamAsync(gpu, "speculative", "gpu").ConfigureAwait(false);
                }

                if (local.FirstToken.IsFaulted || (local.FirstToken.IsCompleted && !local.HasToken))
                {
                    await gpu.FirstToken.ConfigureAwait(false);
                    return await StreamAsync(gpu, "speculative", "gpu").ConfigureAwait(false);
                }

                await local.FirstToken.ConfigureAwait(false);
                Cancel(gpu);
                return await StreamAsync(local, "speculative", "local").ConfigureAwait(false);
            }

            // Replace mode: local tokens now; the GPU answer replaces them when complete.
            var start = await Task.WhenAny(local.FirstToken, gpu.FirstToken).ConfigureAwait(false);
            if (start == gpu.FirstToken && gpu.HasToken)
            {
                Cancel(local);
                return await StreamAsync(gpu, "speculative", "gpu").ConfigureAwait(false);
            }

            if (local.FirstToken.IsFaulted || !local.HasToken)
            {
                await gpu.FirstToken.ConfigureAwait(false);
                return await StreamAsync(gpu, "speculative", "gpu").ConfigureAwait(false);
            }

            await _sink.BeginAsync("speculative", _ct).ConfigureAwait(false);
            return await FinishSpeculativeAsync(local, gpu).ConfigureAwait(false);
        }

        /// <summary>Local tokens are streaming (replace mode) or buffered (JSON); the GPU runs. Relays local
        /// tokens until the GPU answer is complete, then replaces; if the local answer ends first, waits up
        /// to the replace window for the GPU; keeps the local answer if the GPU fails.</summary>
        private async Task<string> FinishSpeculativeAsync(TokenSource local, TokenSource gpu)
        {
            var localDone = RelayAsync(local);
            var done = await Task.WhenAny(localDone, gpu.Completion).ConfigureAwait(false);
            if (done == localDone)
            {
                await localDone.ConfigureAwait(false);
                var wait = Task.Delay(_s._options.ReplaceWait, _s._time, _ct);
                var after = await Task.WhenAny(gpu.Completion, wait).ConfigureAwait(false);
                if (after == wait || !gpu.Completion.IsCompletedSuccessfully || !gpu.HasToken)
                {
                    Cancel(gpu);
                    await FinishAsync(local, "speculative", "local").ConfigureAwait(false);
                    return "speculative";
                }
            }
            else if (!gpu.Completion.IsCompletedSuccessfully || !gpu.HasToken)
            {
                // The GPU failed: the local answer stands.
                await localDone.ConfigureAwait(false);
                await FinishAsync(local, "speculative", "local").ConfigureAwait(false);
                return "speculative";
            }

            Cancel(local);
            _replaced = true;
            AgentTracing.Event("replace", "gpu");
            await _sink.ReplaceAsync("gpu", _ct).ConfigureAwait(false);
            await SendAsync(gpu.Text).ConfigureAwait(false);
            await FinishAsync(gpu, "speculative", "gpu").ConfigureAwait(false);
            return "speculative";
        }

        /// <summary>Relays a source's remaining tokens to the sink; completes when it ends (cancellation
        /// of the source ends it quietly).</summary>
        private async Task RelayAsync(TokenSource source)
        {
            try
            {
                await foreach (string token in source.Tokens.ReadAllAsync(_ct).ConfigureAwait(false))
                {
                    if (!_sink.Started)
                    {
                        await _sink.BeginAsync(Path ?? "speculative", _ct).ConfigureAwait(false);
                    }

                    await SendAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (source.Cancelled && !_ct.IsCancellationRequested)
            {
            }
        }

        /// <summary>JSON speculative answers: whichever side completes first (the GPU if both do).</summary>
        private async Task<string> FirstCompleteAsync(TokenSource local, TokenSource gpu)
        {
            var first = await Task.WhenAny(local.Completion, gpu.Completion).ConfigureAwait(false);
            var winner = first == gpu.Completion ? gpu : local;
            var loser = winner == gpu ? local : gpu;
            if (!first.IsCompletedSuccessfully || !winner.HasToken)
            {
                (winner, loser) = (loser, winner);
                await winner.Completion.ConfigureAwait(false);
            }
            else
            {
                Cancel(loser);
            }

            await _sink.BeginAsync("speculative", _ct).ConfigureAwait(false);
            await SendAsync(winner.Text).ConfigureAwait(false);
            await FinishAsync(winner, "speculative", winner.Side).ConfigureAwait(false);
            return "speculative";
        }

        // --- plumbing ----------------------------------------------------------------------------

        /// <summary>Streams all of a source (buffered and upcoming tokens) as the answer.</summary>
        private async Task<string> StreamAsync(TokenSource source, string path, string answeredBy)
        {
            Path = path;
            if (!_sink.Started)
            {
                await _sink.BeginAsync(path, _ct).ConfigureAwait(false);
            }

            await foreach (string token in source.Tokens.ReadAllAsync(_ct).ConfigureAwait(false))
            {
                await SendAsync(token).ConfigureAwait(false);
            }

            await source.Completion.ConfigureAwait(false);
            await FinishAsync(source, path, answeredBy).ConfigureAwait(false);
            return path;
        }

        /// <summary>Sends text to the client, noting when the first token left.</summary>
        private ValueTask SendAsync(string text)
        {
            if (_firstSent == 0)
            {
                AgentTracing.Event("first token");
                _firstSent = _s._time.GetTimestamp();
            }

            return _sink.TokenAsync(text, _ct);
        }

        private async Task FinishAsync(TokenSource source, string path, string answeredBy)
        {
            Path = path;
            var ttft = _firstSent == 0 ? _s._time.GetElapsedTime(_arrivedAt) : _s._time.GetElapsedTime(_arrivedAt, _firstSent);
            _s._metrics.TimeToFirstToken.WithLabels(path).Observe(ttft.TotalSeconds);
            if (path == "speculative")
            {
                _s._metrics.Speculative.WithLabels(answeredBy, _replaced ? "true" : "false").Inc();
            }

            int promptTokens = source.PromptTokens ?? DecisionRules.EstimateTokens(_request.PromptCharacters);
            var usage = new UsageDto(promptTokens, source.CompletionTokens, promptTokens + source.CompletionTokens);
            var info = new DataplaneInfo(path, _reason, answeredBy, _replaced, _decision.Score, ttft.TotalMilliseconds);
            await _sink.FinishAsync(source.FinishReason, usage, info, _ct).ConfigureAwait(false);
        }

        private void Cancel(TokenSource source)
        {
            if (!source.Completion.IsCompleted)
            {
                source.Cancel();
                _s._metrics.Cancelled.WithLabels(source.Side).Inc();
            }
        }

        /// <summary>Starts the local side on <paramref name="slot"/>, which it releases when its answer ends.</summary>
        private TokenSource StartLocal(LocalSlot slot)
        {
            _localSlot = slot;
            _confidence = _s._local.ProvidesLogprobs ? _s._routing.CreateTokenConfidence() : null;
            var request = new LocalRequest
            {
                Model = _s._options.LocalRuntimeModel,
                Messages = _request.Messages,
                Prompt = _request.Prompt,
                MaxTokens = _maxTokens,
                Temperature = _request.Temperature,
                TopP = _request.TopP,
                Stop = _request.Stop,
                Logprobs = _confidence != null,
                TraceParent = _request.TraceParent,
            };
            var confidence = _confidence;
            var s = _s;
            _localSource = TokenSource.Start("local", _ct, AgentTracing.InLeg("local", request.Model ?? "", async (source, ct) =>
            {
                bool finished = false;
                try
                {
                    await foreach (var chunk in s._local.StreamAsync(request, ct).ConfigureAwait(false))
                    {
                        if (chunk.Logprob is { } lp && confidence is { IsReady: false })
                        {
                            confidence.Add(lp);
                        }

                        bool first = !source.HasToken;
                        source.Emit(chunk.Text);
                        if (first && source.HasToken)
                        {
                            s._localTtft.Record(source.TimeToFirstToken!.Value);
                            s._metrics.Hops.WithLabels("agent_local").Observe(source.TimeToFirstToken!.Value.TotalSeconds);
                        }

                        if (chunk.IsFinal)
                        {
                            source.FinishReason = chunk.FinishReason!;
                            source.PromptTokens = chunk.PromptTokens;
                        }
                    }

                    finished = true;
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    s._metrics.LocalFailures.Inc();
                    throw;
                }
                finally
                {
                    slot.Completed = finished;
                    slot.Dispose();
                }
            }), _s._time);
            return _localSource;
        }

        private TokenSource StartGpu()
        {
            var s = _s;
            var request = _request;
            int maxTokens = _maxTokens;
            var deadline = s._time.GetUtcNow().UtcDateTime + s._gpu.RequestTimeout;
            bool acquired = s._breaker.TryAcquire();
            _gpuSource = TokenSource.Start("gpu", _ct, AgentTracing.InLeg("gpu", s._gpu.TritonModel(request.Model), async (source, ct) =>
            {
                if (!acquired)
                {
                    throw new GpuException("the GPU circuit breaker is open") { Status = Grpc.Core.StatusCode.Unavailable };
                }

                try
                {
                    await foreach (var chunk in s._gpu.StreamAsync(request, maxTokens, deadline, ct).ConfigureAwait(false))
                    {
                        bool first = !source.HasToken;
                        source.Emit(chunk.Text);
                        if (first && source.HasToken)
                        {
                            var ttft = source.TimeToFirstToken!.Value;
                            s._hedge.Tracker.Record(ttft);
                            if (chunk.HostUpstreamUs is { } hostUs)
                            {
                                var host = TimeSpan.FromMicroseconds(hostUs);
                                s._metrics.Hops.WithLabels("host_triton").Observe(host.TotalSeconds);
                                s._metrics.Hops.WithLabels("agent_host").Observe(Math.Max(0, (ttft - host).TotalSeconds));
                            }
                        }

                        if (chunk.Final)
                        {
                            source.FinishReason = source.CompletionTokens >= maxTokens ? "length" : "stop";
                        }
                    }

                    s._breaker.OnSuccess();
                }
                catch (GpuException e) when (!ct.IsCancellationRequested)
                {
                    s._metrics.GpuFailures.WithLabels(e.Status.ToString()).Inc();
                    s._breaker.OnFailure();
                    throw;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // Cancelled as the losing side (or the client left): says nothing about the GPU's health.
                    s._breaker.OnAbandoned();
                    throw;
                }
            }), _s._time);
            return _gpuSource;
        }

        public async ValueTask DisposeAsync()
        {
            if (_localSource != null)
            {
                await _localSource.DisposeAsync().ConfigureAwait(false);
            }

            if (_gpuSource != null)
            {
                await _gpuSource.DisposeAsync().ConfigureAwait(false);
            }

            // Normally released by the local side when its answer ended; a slot granted to a request that then left
            // before starting is released here. Release happens once whichever comes first.
            _localSlot?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4250, Level = LogLevel.Debug,
            Message = "Routing decision for model {Model}: route {Route}, reason {Reason}, classifier score {Score:0.000}, prompt {Chars} chars")]
        public static partial void Decided(ILogger logger, string model, string route, string reason, double score, int chars);

        [LoggerMessage(EventId = 4251, Level = LogLevel.Warning, Message = "GPU request for model {Model} failed: {Error}; answering locally")]
        public static partial void GpuFailed(ILogger logger, string model, string error);

        [LoggerMessage(EventId = 4260, Level = LogLevel.Debug,
            Message = "Request for model {Model} refused (429): the local runtime runs {Capacity} generations at once, {Queued} requests wait, {Why}; retry after about {RetryAfterSeconds:0.#} s")]
        public static partial void LocalBusy(ILogger logger, string model, int capacity, int queued, string why, double retryAfterSeconds);
    }
}

/// <summary>The local runtime is serving all it can and the GPU pool cannot take the request: the request was not
/// queued (the queue is full, or the wait would outlast its latency objective) or its wait ran out. Answered 429
/// with <c>Retry-After</c> (<see cref="RetryAfter"/>, rounded up to whole seconds).</summary>
public sealed class LocalBusyException : Exception
{
    public LocalBusyException()
    {
    }

    public LocalBusyException(string message)
        : base(message)
    {
    }

    public LocalBusyException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public LocalBusyException(LocalRefusal refusal, TimeSpan retryAfter, int capacity, int sloMs)
        : base(refusal == LocalRefusal.QueueFull
            ? $"This node's local model is serving all {capacity} generations it can at once, its queue is full and the GPU pool is not available; retry after {RetrySeconds(retryAfter)} s."
            : $"This node's local model is serving all {capacity} generations it can at once and none would free within the request's {sloMs} ms latency objective; the GPU pool is not available. Retry after {RetrySeconds(retryAfter)} s.")
    {
        Refusal = refusal;
        RetryAfter = retryAfter;
    }

    public LocalRefusal Refusal { get; }

    /// <summary>Estimated time until a generation is free.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary><see cref="RetryAfter"/> in whole seconds, rounded up, at least 1 (the <c>Retry-After</c> header).</summary>
    public int RetryAfterSeconds => RetrySeconds(RetryAfter);

    private static int RetrySeconds(TimeSpan after) => (int)Math.Clamp(Math.Ceiling(after.TotalSeconds), 1, 86_400);
}

/// <summary>Neither the local runtime nor the GPU pool could answer.</summary>
public sealed class EdgeUnavailableException : Exception
{
    public EdgeUnavailableException()
    {
    }

    public EdgeUnavailableException(string message)
        : base(message)
    {
    }

    public EdgeUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
