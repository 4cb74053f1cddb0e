using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace DataPlane.Hosting.Logging;

/// <summary>Console logging for both executables: one line per event with a UTC timestamp when run
/// by hand; under systemd (JOURNAL_STREAM set) the systemd formatter, so journald gets priorities
/// and no duplicate timestamps. Levels come from the standard <c>Logging</c> configuration section.</summary>
public static class ConsoleLogging
{
    /// <summary>ASP.NET Core's per-request hosting log category, off unless configured.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        // ASP.NET Core's hosting diagnostics start an Activity and push a log scope for every request whenever this
        // category logs at any level (about a tenth of a request's allocations), only to log request start and end,
        // which these executables never show; their own spans and logs do not use either. Set before the
        // configuration, so Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics still turns it back on.
        logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
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
