using DataPlane.Simulation.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>Registers the simulated Triton with dependency injection.</summary>
public static class SimulationServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="SimulatedTriton"/> serving <paramref name="options"/>
    /// (<see cref="SimulationOptions.Default"/> when null) and <see cref="SimulatedTritonService"/>,
    /// so that <c>MapGrpcService&lt;SimulatedTritonService&gt;()</c> serves it. A hosted service
    /// creates the simulation when the host starts (invalid options fail the start, and the first
    /// request does not pay for the set-up). Existing registrations win.</summary>
    public static IServiceCollection AddSimulatedTriton(this IServiceCollection services, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => new SimulatedTriton(options ?? SimulationOptions.Default, sp.GetService<ILogger<SimulatedTriton>>()));
        services.TryAddSingleton<SimulatedTritonService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SimulationStarter>());
        return services;
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
