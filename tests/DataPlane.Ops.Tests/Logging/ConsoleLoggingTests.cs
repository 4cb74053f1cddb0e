using DataPlane.Hosting.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DataPlane.Ops.Tests.Logging;

/// <summary>Both executables' logging levels: ASP.NET Core's per-request hosting category is off (it would start an
/// Activity and a log scope for every request) unless configured by name, whatever the default level.</summary>
public class ConsoleLoggingTests
{
    private const string Hosting = ConsoleLogging.HostingDiagnosticsCategory;

    [Fact]
    public void Hosting_diagnostics_are_off_by_default_and_our_categories_log_information()
    {
        using var loggers = Build([]);

        // ASP.NET Core's hosting creates the per-request Activity and scope exactly when this is true.
        Assert.False(loggers.CreateLogger(Hosting).IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("DataPlane.Host").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public void A_configured_default_level_leaves_hosting_diagnostics_off()
    {
        using var loggers = Build(new() { ["Logging:LogLevel:Default"] = "Trace" });

        Assert.False(loggers.CreateLogger(Hosting).IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("DataPlane.Host").IsEnabled(LogLevel.Trace));
    }

    [Fact]
    public void Configuring_the_hosting_category_by_name_turns_it_back_on()
    {
        using var loggers = Build(new() { [$"Logging:LogLevel:{Hosting}"] = "Information" });

        Assert.True(loggers.CreateLogger(Hosting).IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger(Hosting).IsEnabled(LogLevel.Debug));
    }

    private static Loggers Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => ConsoleLogging.Configure(logging, configuration));
        return new Loggers(services.BuildServiceProvider());
    }

    /// <summary>The logger factory of a configured container, disposed with it.</summary>
    private sealed class Loggers(ServiceProvider provider) : IDisposable
    {
        public ILogger CreateLogger(string category) => provider.GetRequiredService<ILoggerFactory>().CreateLogger(category);

        public void Dispose() => provider.Dispose();
    }
}
