using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Hosting.Configuration;

/// <summary>The configuration sources of both executables, later ones winning: a JSON file named by
/// <c>--config FILE</c>, environment variables with a prefix, then the command line (<c>--Section:Key=value</c>
/// or the executable's short switches). The command line is read strictly: an unknown switch, a switch or key
/// without its value, a stray argument, a missing, unreadable, empty or malformed JSON file are each a
/// <see cref="ConfigurationException"/> line naming the argument or file.</summary>
public static class ConfigurationLayers
{
    private static readonly JsonDocumentOptions s_jsonOptions = new()
    {
        // As Microsoft.Extensions.Configuration.Json reads its files.
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static IConfigurationRoot Build(string[] args, string environmentPrefix, IReadOnlyDictionary<string, string> switches)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(switches);
        var builder = new ConfigurationBuilder();
        var files = new List<string>();
        var line = new List<string>();
        var errors = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            string name = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
            string? inline = equals > 0 && name.Length < arg.Length ? arg[(equals + 1)..] : null;
            if (name == "--config")
            {
                if (TakeValue(args, ref i, inline) is { } file)
                {
                    files.Add(file);
                }
                else
                {
                    errors.Add("--config needs a value: the JSON configuration file");
                }
            }
            else if (switches.TryGetValue(name, out string? key))
            {
                if (TakeValue(args, ref i, inline) is { } value)
                {
                    line.Add($"--{key}={value}");
                }
                else
                {
                    errors.Add($"{name} needs a value (it sets {key})");
                }
            }
            else if (name.StartsWith("--", StringComparison.Ordinal) && name.Length > 2 && name.Contains(':', StringComparison.Ordinal))
            {
                if (TakeValue(args, ref i, inline) is { } value)
                {
                    line.Add($"{name}={value}");
                }
                else
                {
                    errors.Add($"{name} needs a value (--Section:Key=value)");
                }
            }
            else if (name.StartsWith('-'))
            {
                errors.Add($"unknown switch '{Cut(name)}' (--help lists the switches; any configuration key works as --Section:Key=value)");
            }
            else
            {
                errors.Add($"unexpected argument '{Cut(arg)}' (--help lists the switches)");
            }
        }

        foreach (string file in files)
        {
            if (CheckJsonFile(file) is { } problem)
            {
                errors.Add(problem);
            }
            else
            {
                builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }

        builder.AddEnvironmentVariables(environmentPrefix);
        builder.AddCommandLine([.. line]);
        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or JsonException or IOException or UnauthorizedAccessException)
        {
            // What the providers still refuse after the checks above (e.g. a key given twice in one JSON object).
            string reason = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            throw new ConfigurationException($"--config {string.Join(", ", files)}: {reason}", e);
        }
    }

    /// <summary>Null when <paramref name="file"/> is a readable JSON file holding an object; otherwise one line naming
    /// the file and what is wrong (with the line and byte of a syntax error).</summary>
    public static string? CheckJsonFile(string file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string path = Path.GetFullPath(file);
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                return $"--config {path}: is a directory, not a JSON file";
            }

            if (!File.Exists(path))
            {
                return $"--config {path}: file does not exist";
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"--config {path}: cannot be read: {e.Message}";
        }

        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        if (bytes.AsSpan(start).Trim(" \t\r\n"u8).IsEmpty)
        {
            return $"--config {path}: is empty; expected a JSON object such as {{\"Listen\": {{…}}}}";
        }

        try
        {
            using var document = JsonDocument.Parse(bytes.AsMemory(start), s_jsonOptions);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? null
                : $"--config {path}: holds a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}; expected an object at the top";
        }
        catch (JsonException e)
        {
            return $"--config {path}: not valid JSON: {e.Message}";
        }
    }

    /// <summary>The value of a switch: after '=', or the next argument unless that is a switch itself.</summary>
    private static string? TakeValue(string[] args, ref int i, string? inline)
    {
        if (inline is not null)
        {
            return inline;
        }

        if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            return args[++i];
        }

        return null;
    }

    private static string Cut(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");
}
