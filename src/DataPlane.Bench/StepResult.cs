namespace DataPlane.Bench;

/// <summary>The measurement of one step. Measured requests are those scheduled (open loop) or started
/// (closed loop) after the warm-up and before the end of the step's duration; each is followed to
/// its completion, success or failure. Latency runs from the scheduled send time (open loop) or the
/// send (closed loop) to the completion. Percentiles are exact nearest-rank values over the latencies
/// of the successful requests; they are null when none succeeded.</summary>
public sealed record StepResult
{
    /// <summary>The run's <c>--label</c> (e.g. the batching policy); may be empty.</summary>
    public required string Label { get; init; }

    /// <summary>The endpoint measured.</summary>
    public required string Target { get; init; }

    /// <summary>The model (unused by <see cref="RpcKind.Live"/>).</summary>
    public required string Model { get; init; }

    /// <summary>The RPC every request made.</summary>
    public required RpcKind Rpc { get; init; }

    /// <summary>How load was offered.</summary>
    public required LoadMode Mode { get; init; }

    /// <summary>Offered rate in requests per second (open loop) or number of workers (closed loop).</summary>
    public required double Offered { get; init; }

    /// <summary>Rows per request.</summary>
    public required int Batch { get; init; }

    /// <summary>Seconds the throughput is computed over: from the start of measurement to the later of the
    /// step's end and the last successful completion of a measured request, so a server that falls behind
    /// shows its real rate.</summary>
    public required double MeasuredSeconds { get; init; }

    /// <summary>Measured requests sent.</summary>
    public required long Sent { get; init; }

    /// <summary>Measured requests that succeeded.</summary>
    public required long Ok { get; init; }

    /// <summary>Measured requests that failed (<see cref="Sent"/> − <see cref="Ok"/>).</summary>
    public required long Errors { get; init; }

    /// <summary>Failures by gRPC status name (e.g. UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED).</summary>
    public required IReadOnlyDictionary<string, long> ErrorsByStatus { get; init; }

    /// <summary>Achieved throughput: <see cref="Ok"/> / <see cref="MeasuredSeconds"/>, requests per second.</summary>
    public required double ThroughputRps { get; init; }

    /// <summary>Median latency of successful requests, ms.</summary>
    public double? P50Ms { get; init; }

    /// <summary>90th percentile latency of successful requests, ms.</summary>
    public double? P90Ms { get; init; }

    /// <summary>99th percentile latency of successful requests, ms.</summary>
    public double? P99Ms { get; init; }

    /// <summary>Largest latency of a successful request, ms.</summary>
    public double? MaxMs { get; init; }

    /// <summary>Mean latency of successful requests, ms.</summary>
    public double? MeanMs { get; init; }

    /// <summary>The latency objective, ms.</summary>
    public required double SloMs { get; init; }

    /// <summary>Share of measured requests that succeeded within <see cref="SloMs"/>, in percent
    /// (failures count against it); 0 when nothing was sent.</summary>
    public required double SloAttainmentPct { get; init; }

    /// <summary>Open loop: measured sends that left more than <see cref="LoadRunner.LateSendThreshold"/>
    /// after their scheduled time because the client fell behind; always 0 in closed loop.</summary>
    public required long LateSends { get; init; }

    /// <summary>Open loop: the largest delay of a measured send behind its schedule, ms; 0 in closed loop.</summary>
    public required double MaxSendLagMs { get; init; }

    /// <summary>Median latency of failed requests, ms (how fast refusals come back); null when none failed.</summary>
    public double? ErrorP50Ms { get; init; }

    /// <summary>99th percentile latency of failed requests, ms; null when none failed.</summary>
    public double? ErrorP99Ms { get; init; }

    /// <summary>With <c>--server-metrics</c>: the server process's CPU time (user + system) from the start of the
    /// measurement to the last measured completion, divided by <see cref="Ok"/>, in microseconds; otherwise null.</summary>
    public double? ServerCpuUsPerRequest { get; init; }

    /// <summary>With <c>--server-metrics</c>: bytes the server allocated on its managed heap over the same window,
    /// divided by <see cref="Ok"/> (tensor bytes included); otherwise null.</summary>
    public double? ServerAllocBytesPerRequest { get; init; }
}
