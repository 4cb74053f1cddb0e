using Grpc.Core;

namespace DataPlane.Simulation;

/// <summary>An error to answer a request with: the status a unary call fails with, or the
/// <c>error_message</c> of a stream response.</summary>
internal readonly record struct SimulationError(StatusCode Code, string Message)
{
    public static SimulationError Invalid(string message) => new(StatusCode.InvalidArgument, message);

    public RpcException ToException() => new(new Status(Code, Message));
}
