using DataPlane.Batching.Models;
using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Batching.Frontend;

/// <summary>grpc.health.v1.Health for load balancers and orchestrators: SERVING while the upstream
/// answers and the daemon is not draining, NOT_SERVING otherwise. Check ignores the service name, as
/// Triton's does; Watch answers for the whole server ("") and "inference.GRPCInferenceService" and
/// reports SERVICE_UNKNOWN for other names, as the health protocol says.</summary>
public sealed class HealthFrontend : Health.HealthBase
{
    private static readonly string s_inferenceService = GRPCInferenceService.Descriptor.FullName;
    private readonly ModelRegistry _registry;
    private readonly ServingState _state;

    public HealthFrontend(ModelRegistry registry, ServingState state)
    {
        _registry = registry;
        _state = state;
    }

    /// <summary>How often Watch re-checks the status.</summary>
    public static TimeSpan WatchInterval { get; } = TimeSpan.FromMilliseconds(250);

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        Task.FromResult(new HealthCheckResponse { Status = Current() });

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        var last = (HealthCheckResponse.Types.ServingStatus)(-1);
        using var timer = new PeriodicTimer(WatchInterval);
        try
        {
            do
            {
                var status = Known(request.Service) ? Current() : HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
                if (status != last)
                {
                    await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken).ConfigureAwait(false);
                    last = status;
                }
            }
            while (await timer.WaitForNextTickAsync(context.CancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // The watcher went away or the server is stopping.
        }
    }

    private static bool Known(string service) => service.Length == 0 || service == s_inferenceService;

    private HealthCheckResponse.Types.ServingStatus Current() =>
        !_state.Draining && _registry.Upstream.IsAvailable
            ? HealthCheckResponse.Types.ServingStatus.Serving
            : HealthCheckResponse.Types.ServingStatus.NotServing;
}
