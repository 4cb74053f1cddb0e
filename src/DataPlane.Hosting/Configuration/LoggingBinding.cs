using Microsoft.Extensions.Logging;

namespace DataPlane.Hosting.Configuration;

/// <summary>Checks the standard <c>Logging</c> section before the logging system reads it (which would abort the
/// process on a bad level): <c>Logging:LogLevel:&lt;Category&gt;</c> and <c>Logging:&lt;Provider&gt;:LogLevel:&lt;Category&gt;</c>
/// must be .NET log levels; any other key under <c>Logging</c> is left unread, so the binder reports it as unknown.</summary>
public static class LoggingBinding
{
    /// <summary>The level names .NET accepts, for messages.</summary>
    public static readonly string LevelNames = string.Join(", ", Enum.GetNames<LogLevel>());

    public static void Read(ConfigBinder b)
    {
        ArgumentNullException.ThrowIfNull(b);
        foreach (var child in b.Children("Logging"))
        {
            if (string.Equals(child.Key, "LogLevel", StringComparison.OrdinalIgnoreCase))
            {
                ReadLevels(b, child.Path);
            }
            else
            {
                foreach (var providerChild in b.Children(child.Path))
                {
                    if (string.Equals(providerChild.Key, "LogLevel", StringComparison.OrdinalIgnoreCase))
                    {
                        ReadLevels(b, providerChild.Path);
                    }
                }
            }
        }
    }

    private static void ReadLevels(ConfigBinder b, string key)
    {
        foreach (var category in b.Children(key))
        {
            string value = b.String(category.Path, "");
            if (category.Value is null)
            {
                // An object or list here is reported by the binder as the wrong type.
                continue;
            }

            if (value.Length == 0 || !Enum.TryParse(value, ignoreCase: true, out LogLevel level) || !Enum.IsDefined(level)
                || char.IsAsciiDigit(value[0]) || value[0] is '-' or '+')
            {
                b.Error(category.Path, $"'{value}' is not a log level ({LevelNames})");
            }
        }
    }
}
