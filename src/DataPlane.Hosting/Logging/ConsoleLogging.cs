using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace DataPlane.Hosting.Logging;

/// <summary>Console logging for both executables: one line per event with a UTC timestamp when run
/// by hand; under systemd (JOURNAL_STREAM set) the systemd formatter, so journald gets priorities
/// and no duplicate timestamps. Levels come from the standard <c>Logging</c> configuration section.</summary>
public static class ConsoleLogging
{
    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        logging.AddConfiguration(configuration.GetSection("Logging"));
        if (configuration["Logging:LogLevel:Default"] == null)
        {
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            logging.AddFilter("Grpc", LogLevel.Warning);
            logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        }

        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") != null)
        {
            logging.AddSystemdConsole(o => o.UseUtcTimestamp = true);
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    }
}
