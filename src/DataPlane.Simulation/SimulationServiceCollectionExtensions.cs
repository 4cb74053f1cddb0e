using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using DataPlane.Simulation.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>Registers and maps the simulated Triton.</summary>
public static class SimulationServiceCollectionExtensions
{
    /// <summary>Largest gRPC message the simulated Triton receives or sends: Triton's INT32_MAX (2 GiB − 1).</summary>
    public const int MaxMessageBytes = int.MaxValue;

    /// <summary>Registers a singleton <see cref="SimulatedTriton"/> serving <paramref name="options"/>
    /// (<see cref="SimulationOptions.Default"/> when null) on <paramref name="time"/> (the system clock when null),
    /// <see cref="SimulatedTritonService"/> and <see cref="SimulatedHealthService"/> with gRPC, the inference service
    /// accepting and sending messages up to <see cref="MaxMessageBytes"/> whatever the global gRPC limits. Map them
    /// with <see cref="MapSimulatedTriton"/>. A hosted service creates the simulation when the host starts (invalid
    /// options fail the start, and the first request does not pay for the set-up). Existing registrations win.</summary>
    public static IServiceCollection AddSimulatedTriton(this IServiceCollection services, SimulationOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => new SimulatedTriton(options ?? SimulationOptions.Default, sp.GetService<ILogger<SimulatedTriton>>(), time));
        services.TryAddSingleton<SimulatedTritonService>();
        services.TryAddSingleton<SimulatedHealthService>();
        // Malformed protobuf is INVALID_ARGUMENT with one rate-limited log line, as in the daemon.
        services.AddStrictGrpcService<SimulatedTritonService>(GRPCInferenceService.BindService);
        services.AddStrictGrpcService<SimulatedHealthService>(Health.BindService);
        services.AddGrpc().AddServiceOptions<StrictGrpcService<SimulatedTritonService>>(o =>
        {
            o.MaxReceiveMessageSize = MaxMessageBytes;
            o.MaxSendMessageSize = MaxMessageBytes;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SimulationStarter>());
        return services;
    }

    /// <summary>Maps Triton's inference service and the gRPC health check of the simulated Triton. The inference
    /// service's requests are exempt from the server's request body limit (Kestrel's 30 MB by default), which would
    /// otherwise refuse a large unary request before gRPC reads it.</summary>
    public static IEndpointRouteBuilder MapSimulatedTriton(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapStrictGrpcService<SimulatedTritonService>().WithMetadata(NoRequestSizeLimit.Instance);
        endpoints.MapStrictGrpcService<SimulatedHealthService>();
        return endpoints;
    }

    /// <summary>Endpoint metadata: no request body size limit.</summary>
    private sealed class NoRequestSizeLimit : IRequestSizeLimitMetadata
    {
        public static readonly NoRequestSizeLimit Instance = new();

        public long? MaxRequestBodySize => null;
    }

    /// <summary>Creates the <see cref="SimulatedTriton"/> singleton at host start.</summary>
    private sealed class SimulationStarter : IHostedService
    {
        /// <summary>Taking the simulation as a dependency is what creates it.</summary>
        public SimulationStarter(SimulatedTriton triton) => ArgumentNullException.ThrowIfNull(triton);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
