using Microsoft.Extensions.Configuration;

namespace DataPlane.Hosting.Configuration;

/// <summary>The configuration sources of both executables, later ones winning: a JSON file named by
/// <c>--config FILE</c>, environment variables with a prefix, then the command line (<c>--Section:Key=value</c>
/// or the executable's short switches).</summary>
public static class ConfigurationLayers
{
    public static IConfigurationRoot Build(string[] args, string environmentPrefix, IReadOnlyDictionary<string, string> switches)
    {
        var builder = new ConfigurationBuilder();
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                string path = Path.GetFullPath(args[++i]);
                if (!File.Exists(path))
                {
                    throw new ConfigurationException($"--config: file '{path}' does not exist");
                }

                builder.AddJsonFile(path, optional: false, reloadOnChange: false);
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        builder.AddEnvironmentVariables(environmentPrefix);
        builder.AddCommandLine([.. rest], switches.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        return builder.Build();
    }
}
