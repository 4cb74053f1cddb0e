using Grpc.Core;

namespace DataPlane.Batching.Metrics;

/// <summary>Outcome and rejection-reason label values.</summary>
public static class Outcomes
{
    public const string Ok = "ok";

    public const string QueueFull = "queue_full";
    public const string QueueBytes = "queue_bytes";
    public const string PredictedLate = "predicted_late";
    public const string DeadlineInQueue = "deadline_in_queue";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string ShuttingDown = "shutting_down";
    public const string Invalid = "invalid";
    public const string UnknownModel = "unknown_model";

    /// <summary>The snake_case name of a gRPC status code, e.g. "deadline_exceeded".</summary>
    public static string Of(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.Cancelled => "cancelled",
        StatusCode.InvalidArgument => "invalid_argument",
        StatusCode.DeadlineExceeded => "deadline_exceeded",
        StatusCode.NotFound => "not_found",
        StatusCode.ResourceExhausted => "resource_exhausted",
        StatusCode.FailedPrecondition => "failed_precondition",
        StatusCode.Unimplemented => "unimplemented",
        StatusCode.Unavailable => "unavailable",
        StatusCode.Internal => "internal",
        _ => "unknown",
    };
}
