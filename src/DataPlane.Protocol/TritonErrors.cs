using Grpc.Core;

namespace DataPlane.Protocol;

/// <summary>The error texts of Triton that clients match on, in one place, so the daemon's front ends (gRPC and
/// HTTP) answer with Triton's wording (our detail may follow it). Client-supplied strings echoed in a message are
/// cut to <see cref="MaxEcho"/> characters, so a huge model name never comes back whole.</summary>
public static class TritonErrors
{
    /// <summary>Most characters of a client-supplied string repeated in an error message.</summary>
    public const int MaxEcho = 256;

    /// <summary><paramref name="value"/>, cut to <see cref="MaxEcho"/> characters (with "…" when cut).</summary>
    public static string Echo(string value) => value.Length <= MaxEcho ? value : string.Concat(value.AsSpan(0, MaxEcho), "…");

    /// <summary>NOT_FOUND <c>Request for unknown model: 'm' is not found</c>.</summary>
    public static RpcException UnknownModel(string model) =>
        new(new Status(StatusCode.NotFound, $"Request for unknown model: '{Echo(model)}' is not found"));

    /// <summary>NOT_FOUND <c>Request for unknown model: 'm' version v is not found</c>.</summary>
    public static RpcException UnknownVersion(string model, string version) =>
        new(new Status(StatusCode.NotFound, $"Request for unknown model: '{Echo(model)}' version {Echo(version)} is not found"));

    /// <summary>UNIMPLEMENTED: a decoupled model called through the unary RPC.</summary>
    public const string DecoupledModelInfer = "ModelInfer RPC doesn't support models with decoupled transaction policy";

    /// <summary>The HTTP twin of <see cref="DecoupledModelInfer"/> (501).</summary>
    public const string DecoupledHttp = "HTTP end point doesn't support models with decoupled transaction policy";

    /// <summary>UNIMPLEMENTED while client shared memory is off (Triton 2.68 and later).</summary>
    public const string ClientShmDisabled = "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.";

    /// <summary>INVALID_ARGUMENT: a step of a sequence the server does not know (never started, or idle too long).</summary>
    public static RpcException SequenceStartRequired(string sequence, string model) =>
        new(new Status(StatusCode.InvalidArgument,
            $"inference request for sequence {Echo(sequence)} to model '{Echo(model)}' must specify the START flag on the first request of the sequence"));

    /// <summary>INVALID_ARGUMENT: a request to a sequence model with a batch dimension above 1.</summary>
    public static RpcException SequenceBatchSize(string model) =>
        new(new Status(StatusCode.InvalidArgument,
            $"inference request to model '{Echo(model)}' must specify batch-size 1 due to requirements of sequence batcher"));

    /// <summary>UNAVAILABLE: the queue is full (Triton's text; our figures may follow).</summary>
    public static string QueueFull(string id) => RequestPrefix(id) + "Exceeds maximum queue size";

    /// <summary>UNAVAILABLE: load or unload while the server does not run explicit model control.</summary>
    public const string ModelControlDisabled = "explicit model load / unload is not allowed if polling is enabled";

    /// <summary>The core's <c>[request id: &lt;id&gt;] </c> prefix of request validation messages.</summary>
    public static string RequestPrefix(string id) => id.Length == 0 ? UnknownIdPrefix : $"[request id: {Echo(id)}] ";

    /// <summary>The prefix of a request without an id: one string, not one per request.</summary>
    private const string UnknownIdPrefix = "[request id: <id_unknown>] ";

    /// <summary>UNAVAILABLE: the server is starting or stopping (Triton's core answers every model request so).</summary>
    public const string ServerNotReady = "Server not ready";

    /// <summary>Reads a model version string as Triton's front ends do (C++ <c>std::stol</c>: leading blanks, a sign and
    /// the leading digits; the rest is ignored): empty means -1, the latest ready version. Null when it parses to a
    /// version &gt;= 0; otherwise INVALID_ARGUMENT with Triton's text (an unparsable string, or a negative number).</summary>
    public static RequestError? TryParseVersion(string version, out long parsed)
    {
        parsed = -1;
        if (version.Length == 0)
        {
            return null;
        }

        if (!CppIntegers.TryRead(version, out parsed, out bool overflow) || overflow)
        {
            parsed = -1;
            return RequestError.Invalid(
                $"failed to get model version from specified version string '{Echo(version)}' (details: stol), version should be an integral value > 0");
        }

        return parsed < 0
            ? RequestError.Invalid($"invalid model version specified '{Echo(version)}' , version should be an integral value > 0")
            : null;
    }

    /// <summary>NOT_FOUND: the model is known but none of its versions is ready (e.g. after an unload).</summary>
    public static RequestError NoAvailableVersions(string model) =>
        new(StatusCode.NotFound, $"Request for unknown model: '{Echo(model)}' has no available versions");

    /// <summary>UNAVAILABLE: the version exists but is not ready (e.g. unloaded).</summary>
    public static RequestError VersionNotReady(string model, long version) =>
        new(StatusCode.Unavailable, $"Request for unknown model: '{Echo(model)}' version {version} is not at ready state");

    /// <summary>INVALID_ARGUMENT of ModelStatistics for a model with no ready version.</summary>
    public static RequestError StatisticsModelUnavailable(string model) =>
        RequestError.Invalid($"requested model '{Echo(model)}' is not available");

    /// <summary>INVALID_ARGUMENT of ModelStatistics for a version that is not ready.</summary>
    public static RequestError StatisticsVersionUnavailable(string model) =>
        RequestError.Invalid($"requested model version is not available for model '{Echo(model)}'");

    /// <summary>INVALID_ARGUMENT: a request to a sequence model without a correlation id (0 or "").</summary>
    public static RequestError SequenceIdRequired(string model) =>
        RequestError.Invalid($"inference request to model '{Echo(model)}' must specify a non-zero or non-empty correlation ID");

    /// <summary>INVALID_ARGUMENT (gRPC): a request parameter named <c>triton_…</c> other than the one Triton accepts.</summary>
    public const string ReservedRequestParameter =
        "parameter keys starting with 'triton_' are reserved for Triton usage. Only the following keys starting with 'triton_' are allowed: " +
        "triton_enable_empty_final_response";
}
