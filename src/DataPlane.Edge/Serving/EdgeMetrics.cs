using DataPlane.Hosting.Metrics;

namespace DataPlane.Edge.Serving;

/// <summary>The agent's Prometheus metrics (prefix <c>dataplane_agent_</c>). Local hit rate and
/// escalation rate are ratios of <c>dataplane_agent_requests_total</c> by path; see docs/METRICS.md.</summary>
public sealed class EdgeMetrics
{
    private static readonly double[] s_latency =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];

    // Fine around the 50 us decision budget, so that bucket-estimated quantiles mean something there.
    private static readonly double[] s_fast =
        [0.000001, 0.0000025, 0.000005, 0.0000075, 0.00001, 0.000015, 0.00002, 0.00003, 0.00004, 0.00005, 0.000075, 0.0001, 0.00025, 0.0005, 0.001, 0.005];

    public EdgeMetrics(MetricRegistry registry)
    {
        Registry = registry;
        var f = registry;
        Requests = f.CreateCounter("dataplane_agent_requests_total",
            "Requests answered, by the path that answered (local, gpu, speculative, degraded, none) and outcome (ok, error, refused: 429, the local runtime full).", "path", "outcome");
        Decisions = f.CreateCounter("dataplane_agent_decisions_total", "Routing decisions, by route and reason.", "route", "reason");
        TimeToFirstToken = f.CreateHistogram("dataplane_agent_time_to_first_token_seconds",
            "Request arrival to the first token sent to the client, by path.", s_latency, "path");
        Duration = f.CreateHistogram("dataplane_agent_request_duration_seconds",
            "Request arrival to the end of the answer, by path.", s_latency, "path");
        Hops = f.CreateHistogram("dataplane_agent_hop_seconds",
            "Latency per hop: client_agent (request in to decision), agent_local (local runtime's first token), agent_host (GPU first token at the agent minus the host's share), host_triton (as the host reports it).",
            s_latency, "hop");
        DecisionTime = f.CreateHistogram("dataplane_agent_decision_seconds", "Time to make a routing decision (features, classifier, rules).",
            s_fast);
        GpuFailures = f.CreateCounter("dataplane_agent_gpu_failures_total", "GPU requests that failed, by gRPC status.", "status");
        LocalFailures = f.CreateCounter("dataplane_agent_local_failures_total", "Local runtime requests that failed.");
        BreakerState = f.CreateGauge("dataplane_agent_gpu_breaker_state", "GPU circuit breaker: 0 closed, 1 half-open, 2 open.");
        BreakerTransitions = f.CreateCounter("dataplane_agent_gpu_breaker_transitions_total", "Breaker state changes, by new state.", "state");
        Hedges = f.CreateCounter("dataplane_agent_hedges_total", "Escalations whose GPU first token missed the hedge delay, by who then answered.", "winner");
        Speculative = f.CreateCounter("dataplane_agent_speculative_total", "Speculative answers, by who answered and whether a replace event was sent.",
            "answered_by", "replaced");
        Cancelled = f.CreateCounter("dataplane_agent_cancelled_total", "Losing sides cancelled, by side (local, gpu).", "side");
        HedgeDelay = f.CreateGauge("dataplane_agent_hedge_delay_seconds", "Current hedge delay (about the p95 of recent GPU time to first token).");
        Inflight = f.CreateGauge("dataplane_agent_inflight_requests", "Client requests being answered.");
        Rejected = f.CreateCounter("dataplane_agent_rejected_total", "Client requests refused, by HTTP status.", "status");
        LocalCapacity = f.CreateGauge("dataplane_agent_local_capacity_generations",
            "Generations the local runtime serves at once (Local:Parallelism, or what the runtime reports: llama.cpp's total_slots).");
        LocalInFlight = f.CreateGauge("dataplane_agent_local_inflight_generations", "Local generations running now (slots held).");
        LocalQueueDepth = f.CreateGauge("dataplane_agent_local_queue_depth",
            "Requests waiting for a local generation (the local runtime is full and the GPU pool cannot take them).");
        LocalQueueWait = f.CreateHistogram("dataplane_agent_local_queue_wait_seconds",
            "Time requests that waited for a local generation spent waiting before they got one.", s_latency);
        LocalRefused = f.CreateCounter("dataplane_agent_local_refused_total",
            "Requests answered 429 because the local runtime was full and the GPU pool could not take them, by reason (queue_full: Local:QueueLength requests already waiting; slo: the wait would not end within the request's latency objective).",
            "reason");
        AuthorizationDenied = f.CreateCounter("dataplane_agent_authorization_denied_total",
            "API requests refused by bearer-key authorization, by key name (none: no key sent; unknown: a key that is not configured) and reason (missing_key, invalid_key, model).",
            "key", "reason");
    }

    /// <summary>The registry the agent's /metrics serves.</summary>
    public MetricRegistry Registry { get; }

    public Counter Requests { get; }

    public Counter Decisions { get; }

    public Histogram TimeToFirstToken { get; }

    public Histogram Duration { get; }

    public Histogram Hops { get; }

    public Histogram DecisionTime { get; }

    public Counter GpuFailures { get; }

    public Counter LocalFailures { get; }

    public Gauge BreakerState { get; }

    public Counter BreakerTransitions { get; }

    public Counter Hedges { get; }

    public Counter Speculative { get; }

    public Counter Cancelled { get; }

    public Gauge HedgeDelay { get; }

    public Gauge Inflight { get; }

    public Counter Rejected { get; }

    public Counter AuthorizationDenied { get; }

    public Gauge LocalCapacity { get; }

    public Gauge LocalInFlight { get; }

    public Gauge LocalQueueDepth { get; }

    public Histogram LocalQueueWait { get; }

    public Counter LocalRefused { get; }
}
