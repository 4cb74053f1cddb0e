using Prometheus;

namespace DataPlane.Batching.Metrics;

/// <summary>The daemon's Prometheus metrics for the inference path. Names follow Prometheus
/// conventions (base units, <c>_total</c>, <c>_seconds</c>); docs/ARCHITECTURE.md maps them to
/// Triton's <c>nv_inference_*</c> twins. Label children are resolved once per model
/// (<see cref="ForModel"/>) so the hot path never looks up labels.</summary>
public sealed class BatchingMetrics
{
    private static readonly double[] s_latencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly double[] s_windowBuckets =
        [0, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02];

    private static readonly double[] s_stageBuckets =
        [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10];

    private static readonly double[] s_batchBuckets = [1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256, 512, 1024];

    private readonly Counter _requests;
    private readonly Histogram _requestDuration;
    private readonly Histogram _queueDuration;
    private readonly Histogram _batchSize;
    private readonly Histogram _window;
    private readonly Histogram _upstreamDuration;
    private readonly Histogram _stage;
    private readonly Gauge _inflight;
    private readonly Gauge _queueDepth;
    private readonly Gauge _queueLimit;
    private readonly Counter _rejections;
    private readonly Gauge _arrivalRate;
    private readonly Gauge _latencyIntercept;
    private readonly Gauge _latencySlope;
    private readonly Gauge _instances;
    private readonly Gauge _maxBatchRows;
    private readonly Gauge _slo;
    private readonly Counter _streamRequests;
    private readonly Counter _streamResponses;
    private readonly Histogram _streamFirstResponse;
    private readonly Gauge _streamInflight;
    private readonly Counter _spilledBatches;
    private readonly Counter _spilledRows;

    public BatchingMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.DefaultRegistry);
        string[] model = ["model"];
        _requests = f.CreateCounter("dataplane_requests_total",
            "ModelInfer requests answered, by gRPC status (outcome: ok, invalid_argument, not_found, resource_exhausted, deadline_exceeded, cancelled, unavailable, internal).",
            ["model", "outcome"]);
        _requestDuration = f.CreateHistogram("dataplane_request_duration_seconds",
            "Time from receiving a ModelInfer request to answering it.", new HistogramConfiguration { LabelNames = model, Buckets = s_latencyBuckets });
        _queueDuration = f.CreateHistogram("dataplane_queue_duration_seconds",
            "Time a request waited in the model's queue before its batch went upstream.", new HistogramConfiguration { LabelNames = model, Buckets = s_latencyBuckets });
        _batchSize = f.CreateHistogram("dataplane_batch_size",
            "Rows per batch sent upstream (the sum of the requests' leading dimensions).", new HistogramConfiguration { LabelNames = model, Buckets = s_batchBuckets });
        _window = f.CreateHistogram("dataplane_batch_window_seconds",
            "How long a batch was held open after its first request could have been sent (0 = sent at once).", new HistogramConfiguration { LabelNames = model, Buckets = s_windowBuckets });
        _upstreamDuration = f.CreateHistogram("dataplane_upstream_request_duration_seconds",
            "Duration of a batch's ModelInfer call to the upstream (Triton).", new HistogramConfiguration { LabelNames = model, Buckets = s_latencyBuckets });
        _stage = f.CreateHistogram("dataplane_request_stage_seconds",
            "Where a successful ModelInfer request's time went, by stage: decode (reading the gRPC message: one copy and the parse), dispatch (from the parsed message to the daemon's handler), validate (validation and admission), queue (admitted to its batch leaving), upstream (batch leaving to the upstream's answer), reply (the upstream's answer to the handler returning it).",
            new HistogramConfiguration { LabelNames = ["model", "stage"], Buckets = s_stageBuckets });
        _inflight = f.CreateGauge("dataplane_inflight_requests", "Requests admitted and not yet answered.", model);
        _queueDepth = f.CreateGauge("dataplane_queue_depth", "Requests waiting in the model's queue.", model);
        _queueLimit = f.CreateGauge("dataplane_queue_limit",
            "Requests the model's queue holds before new ones are refused with RESOURCE_EXHAUSTED (Batching MaxQueueSize).", model);
        _rejections = f.CreateCounter("dataplane_rejections_total",
            "Requests refused without going upstream, by reason (queue_full, deadline_in_queue, upstream_unavailable, shutting_down, invalid, unknown_model).",
            ["model", "reason"]);
        _arrivalRate = f.CreateGauge("dataplane_batcher_arrival_rate_per_second", "Arrival rate (rows per second) the adaptive batcher estimates.", model);
        _latencyIntercept = f.CreateGauge("dataplane_batcher_upstream_latency_intercept_seconds",
            "Fitted fixed cost of an upstream batch (a in latency = a + b·rows).", model);
        _latencySlope = f.CreateGauge("dataplane_batcher_upstream_latency_per_row_seconds",
            "Fitted cost per row of an upstream batch (b in latency = a + b·rows).", model);
        _instances = f.CreateGauge("dataplane_batcher_instances",
            "Batches the model runs upstream at once: Triton's instance count, or Batching MaxConcurrentBatches.", model);
        _maxBatchRows = f.CreateGauge("dataplane_batcher_max_batch_rows",
            "Most rows the batcher puts in one upstream batch (1 for a model that does not batch).", model);
        _slo = f.CreateGauge("dataplane_batcher_slo_seconds",
            "The model's latency objective (Batching Slo); 0 when none is configured.", model);
        _streamRequests = f.CreateCounter("dataplane_stream_requests_total",
            "ModelStreamInfer requests finished, by outcome (ok or a gRPC status name).", ["model", "outcome"]);
        _streamResponses = f.CreateCounter("dataplane_stream_responses_total", "Responses relayed on ModelStreamInfer streams.", model);
        _streamFirstResponse = f.CreateHistogram("dataplane_stream_first_response_seconds",
            "Time from a streamed request to its first response (time to first token for LLM models).",
            new HistogramConfiguration { LabelNames = model, Buckets = s_latencyBuckets });
        _streamInflight = f.CreateGauge("dataplane_stream_inflight_requests", "Streamed requests admitted and not yet finished.", model);
        _spilledBatches = f.CreateCounter("dataplane_spilled_batches_total",
            "Batches sent to a peer host instead of this host's upstream (spillover), by peer (\"failed\" when the peer did not answer).", ["model", "peer"]);
        _spilledRows = f.CreateCounter("dataplane_spilled_rows_total", "Rows in spilled batches, by peer.", ["model", "peer"]);
    }

    /// <summary>The label children of one model.</summary>
    public ModelMetrics ForModel(string model) => new(this, model);

    /// <summary>Label children of one model, resolved once.</summary>
    public sealed class ModelMetrics
    {
        private readonly BatchingMetrics _m;
        private readonly string _model;
        private readonly Counter.Child _ok;

        internal ModelMetrics(BatchingMetrics m, string model)
        {
            _m = m;
            _model = model;
            _ok = m._requests.WithLabels(model, "ok");
            RequestDuration = m._requestDuration.WithLabels(model);
            QueueDuration = m._queueDuration.WithLabels(model);
            BatchSize = m._batchSize.WithLabels(model);
            Window = m._window.WithLabels(model);
            UpstreamDuration = m._upstreamDuration.WithLabels(model);
            StageDecode = m._stage.WithLabels(model, "decode");
            StageDispatch = m._stage.WithLabels(model, "dispatch");
            StageValidate = m._stage.WithLabels(model, "validate");
            StageQueue = m._stage.WithLabels(model, "queue");
            StageUpstream = m._stage.WithLabels(model, "upstream");
            StageReply = m._stage.WithLabels(model, "reply");
            Inflight = m._inflight.WithLabels(model);
            QueueDepth = m._queueDepth.WithLabels(model);
            QueueLimit = m._queueLimit.WithLabels(model);
            ArrivalRate = m._arrivalRate.WithLabels(model);
            LatencyIntercept = m._latencyIntercept.WithLabels(model);
            LatencySlope = m._latencySlope.WithLabels(model);
            Instances = m._instances.WithLabels(model);
            MaxBatchRows = m._maxBatchRows.WithLabels(model);
            Slo = m._slo.WithLabels(model);
            StreamResponses = m._streamResponses.WithLabels(model);
            StreamFirstResponse = m._streamFirstResponse.WithLabels(model);
            StreamInflight = m._streamInflight.WithLabels(model);
        }

        public Histogram.Child RequestDuration { get; }

        public Histogram.Child QueueDuration { get; }

        public Histogram.Child BatchSize { get; }

        public Histogram.Child Window { get; }

        public Histogram.Child UpstreamDuration { get; }

        /// <summary>The stages of <c>dataplane_request_stage_seconds</c>.</summary>
        public Histogram.Child StageDecode { get; }

        /// <inheritdoc cref="StageDecode"/>
        public Histogram.Child StageDispatch { get; }

        /// <inheritdoc cref="StageDecode"/>
        public Histogram.Child StageValidate { get; }

        /// <inheritdoc cref="StageDecode"/>
        public Histogram.Child StageQueue { get; }

        /// <inheritdoc cref="StageDecode"/>
        public Histogram.Child StageUpstream { get; }

        /// <inheritdoc cref="StageDecode"/>
        public Histogram.Child StageReply { get; }

        public Gauge.Child Inflight { get; }

        public Gauge.Child QueueDepth { get; }

        public Gauge.Child QueueLimit { get; }

        public Gauge.Child ArrivalRate { get; }

        public Gauge.Child LatencyIntercept { get; }

        public Gauge.Child LatencySlope { get; }

        /// <summary>Upstream batches executing at once; what capacity planning counts as instances.</summary>
        public Gauge.Child Instances { get; }

        /// <summary>Largest batch in rows.</summary>
        public Gauge.Child MaxBatchRows { get; }

        /// <summary>The configured latency objective in seconds (0: none).</summary>
        public Gauge.Child Slo { get; }

        public Counter.Child StreamResponses { get; }

        public Histogram.Child StreamFirstResponse { get; }

        public Gauge.Child StreamInflight { get; }

        /// <summary>Counts an answered request by its status (<c>ok</c> or the snake_case status name).</summary>
        public void Answered(string outcome)
        {
            if (ReferenceEquals(outcome, Outcomes.Ok))
            {
                _ok.Inc();
            }
            else
            {
                _m._requests.WithLabels(_model, outcome).Inc();
            }
        }

        public void Rejected(string reason) => _m._rejections.WithLabels(_model, reason).Inc();

        public void Spilled(string peer, long rows)
        {
            _m._spilledBatches.WithLabels(_model, peer).Inc();
            _m._spilledRows.WithLabels(_model, peer).Inc(rows);
        }

        public void StreamFinished(string outcome) => _m._streamRequests.WithLabels(_model, outcome).Inc();
    }
}
