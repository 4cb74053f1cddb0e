using DataPlane.Simulation.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation;

/// <summary>Registers the simulated Triton with dependency injection.</summary>
public static class SimulationServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="SimulatedTriton"/> serving <paramref name="options"/>
    /// (<see cref="SimulationOptions.Default"/> when null) and <see cref="SimulatedTritonService"/>,
    /// so that <c>MapGrpcService&lt;SimulatedTritonService&gt;()</c> serves it. Existing registrations win.</summary>
    public static IServiceCollection AddSimulatedTriton(this IServiceCollection services, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => new SimulatedTriton(options ?? SimulationOptions.Default, sp.GetService<ILogger<SimulatedTriton>>()));
        services.TryAddSingleton<SimulatedTritonService>();
        return services;
    }
}
