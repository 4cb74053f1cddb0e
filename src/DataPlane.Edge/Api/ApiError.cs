using Microsoft.AspNetCore.Http;

namespace DataPlane.Edge.Api;

/// <summary>An error answered in OpenAI's error-object shape:
/// <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record ApiError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    /// <summary>Most characters of a client-supplied string repeated in an error message.</summary>
    public const int MaxEcho = 256;

    /// <summary><paramref name="value"/>, cut to <see cref="MaxEcho"/> characters (with "…" when cut), so a huge field
    /// never comes back whole.</summary>
    public static string Echo(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length <= MaxEcho ? value : string.Concat(value.AsSpan(0, MaxEcho), "…");
    }

    public static ApiError Invalid(string message, string? param = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param);

    public static ApiError ModelNotFound(string model, IEnumerable<string> known) =>
        new(StatusCodes.Status404NotFound, $"The model '{Echo(model)}' does not exist on this node; models: {string.Join(", ", known)}",
            "invalid_request_error", "model", "model_not_found");

    public static ApiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"request body is larger than the limit of {limit} bytes", "invalid_request_error", null,
            "request_too_large");

    public static ApiError Unavailable(string message) =>
        new(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "service_unavailable");

    /// <summary>429 in the shape OpenAI answers a rate limit with: type <c>requests</c>, code <c>rate_limit_exceeded</c>
    /// (clients and SDKs retry it after the <c>Retry-After</c> header).</summary>
    public static ApiError RateLimited(string message) =>
        new(StatusCodes.Status429TooManyRequests, message, "requests", null, "rate_limit_exceeded");

    public ErrorResponse ToBody() => new(new ErrorBody(Message, Type, Param, Code));
}
