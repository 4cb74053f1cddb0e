using DataPlane.Protocol.Health;
using Grpc.Core;

namespace DataPlane.Simulation;

/// <summary>The standard gRPC health check (<c>grpc.health.v1.Health/Check</c>) as Triton serves it on its gRPC
/// port: <c>SERVING</c> while the simulated Triton is ready, <c>NOT_SERVING</c> otherwise; the <c>service</c> field is
/// ignored. <c>Watch</c> is not served (UNIMPLEMENTED), as in Triton.</summary>
public sealed class SimulatedHealthService : Health.HealthBase
{
    private readonly SimulatedTriton _triton;

    public SimulatedHealthService(SimulatedTriton triton) => _triton = triton;

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        Task.FromResult(new HealthCheckResponse
        {
            Status = _triton.Ready ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing,
        });
}
