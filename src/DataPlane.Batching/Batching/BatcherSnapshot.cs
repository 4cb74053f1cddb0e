namespace DataPlane.Batching.Batching;

/// <summary>A point-in-time view of one model's batcher. <c>LatencyInterceptMs</c> and
/// <c>LatencyPerRowMs</c> are the fitted a and b of upstream latency ≈ a + b·rows.</summary>
public sealed record BatcherSnapshot(
    string Model,
    string Version,
    string Policy,
    long MaxBatchRows,
    int Instances,
    int PipelineDepth,
    int BatchesInFlight,
    int QueuedRequests,
    double ArrivalRowsPerSecond,
    double LatencyInterceptMs,
    double LatencyPerRowMs,
    bool Draining);
