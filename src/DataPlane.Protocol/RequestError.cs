using Grpc.Core;

namespace DataPlane.Protocol;

/// <summary>An error to answer a request with, before or instead of going upstream: the gRPC status a
/// Triton client would get and its message.</summary>
public readonly record struct RequestError(StatusCode Code, string Message)
{
    public static RequestError Invalid(string message) => new(StatusCode.InvalidArgument, message);

    public RpcException ToException() => new(new Status(Code, Message));
}
