namespace DataPlane.Batching.Batching;

/// <summary>A model's load at one moment, as the daemon reports it to callers.</summary>
/// <param name="QueueDepth">Requests admitted and not yet sent upstream (batch queue and sequence steps waiting).</param>
/// <param name="InflightBatches">Batches sent upstream and not yet answered.</param>
/// <param name="InflightStreams">Streamed requests (ModelStreamInfer) in flight through the relay.</param>
/// <param name="PredictedWaitMs">Queue wait predicted for a one-row request arriving now at the default priority.</param>
public readonly record struct ModelLoad(int QueueDepth, int InflightBatches, int InflightStreams, double PredictedWaitMs);
