using DataPlane.CommandLine;

using static DataPlane.CommandLine.OptionValues;

namespace DataPlane.Bench;

/// <summary>Reads one of a verb's own options (those <see cref="BenchRunOptions"/> does not declare) into its
/// settings.</summary>
/// <typeparam name="TSettings">The verb's settings.</typeparam>
/// <param name="name">The option's name, e.g. <c>--batch</c>.</param>
/// <param name="value">Its value (empty for a flag).</param>
/// <param name="settings">The settings read so far, updated with the value.</param>
/// <returns>Why the value is refused, naming the option; null when it was read.</returns>
public delegate string? BenchOptionReader<TSettings>(string name, string value, ref TSettings settings);

/// <summary>Checks a verb's settings as a whole once every option is read (combinations, limits), and completes them.</summary>
/// <typeparam name="TSettings">The verb's settings.</typeparam>
/// <param name="line">The command line as read, for which options were given.</param>
/// <param name="settings">The settings read from it.</param>
/// <returns>Why the command line is refused, naming the options; null when it is accepted.</returns>
public delegate string? BenchSettingsCheck<TSettings>(ParsedCommand line, ref TSettings settings);

/// <summary>The switches of <see cref="BenchRunSettings"/>, declared and read once for both bench verbs: each verb
/// lists them in its <see cref="CommandSpec"/> with its own help text (<see cref="Declare"/>), and
/// <see cref="Parse"/> reads them with the same checks and messages before handing the verb its own options.</summary>
public static class BenchRunOptions
{
    /// <summary>Longest per-request timeout a verb that limits it (<c>bench-agent</c>) accepts.</summary>
    private static readonly TimeSpan s_longestTimeout = TimeSpan.FromDays(1); // longer is a typo (and past 10^14 ms not a TimeSpan)

    /// <summary>What each switch's value is called in the help.</summary>
    private static readonly Dictionary<string, string> s_valueNames = new(StringComparer.Ordinal)
    {
        ["--model"] = "NAME",
        ["--rate"] = "R",
        ["--concurrency"] = "N",
        ["--duration"] = "S",
        ["--warmup"] = "S",
        ["--csv"] = "FILE",
        ["--json"] = "FILE",
        ["--label"] = "TEXT",
        ["--seed"] = "N",
        ["--timeout-ms"] = "X",
    };

    /// <summary>The switch <paramref name="name"/> (one of <c>--model</c>, <c>--rate</c>, <c>--concurrency</c>,
    /// <c>--duration</c>, <c>--warmup</c>, <c>--csv</c>, <c>--json</c>, <c>--label</c>, <c>--seed</c>,
    /// <c>--timeout-ms</c>) with the verb's help text; the verb places it in its help.</summary>
    public static CommandOption Declare(string name, string help) =>
        s_valueNames.TryGetValue(name, out string? valueName)
            ? CommandOption.Value(name, valueName, help)
            : throw new ArgumentException($"{name} is not one of the shared bench switches", nameof(name));

    /// <summary>Parses <paramref name="args"/> (the arguments after the verb) against <paramref name="spec"/>: help
    /// wins over everything, then the parser's error, then each option in the order given (the shared switches here,
    /// the verb's own through <paramref name="readOwn"/>; the first refused value is the error), then
    /// <paramref name="check"/>.</summary>
    /// <param name="spec">The verb's options.</param>
    /// <param name="args">The arguments after the verb.</param>
    /// <param name="defaults">The verb's settings before any option.</param>
    /// <param name="readOwn">Reads the verb's own options.</param>
    /// <param name="check">Checks and completes the settings once every option is read.</param>
    /// <returns>The settings (null when refused or help was asked for), the error and whether help was asked for.</returns>
    public static (TSettings? Settings, string? Error, bool HelpRequested) Parse<TSettings>(CommandSpec spec,
        IReadOnlyList<string> args, TSettings defaults, BenchOptionReader<TSettings> readOwn, BenchSettingsCheck<TSettings> check)
        where TSettings : BenchRunSettings
    {
        ArgumentNullException.ThrowIfNull(readOwn);
        ArgumentNullException.ThrowIfNull(check);
        var line = CommandParser.Parse(spec, args);
        if (line.HelpRequested)
        {
            return (null, null, true);
        }

        if (line.Error is { } problem)
        {
            return (null, problem, false);
        }

        var s = defaults;
        foreach (var (option, given) in line.Given)
        {
            string value = given ?? "";
            BenchRunSettings run = s;
            string? error;
            if (TryRead(option.Name, value, ref run, out error))
            {
                s = (TSettings)run;
            }
            else
            {
                error = readOwn(option.Name, value, ref s);
            }

            if (error is not null)
            {
                return (null, error, false);
            }
        }

        string? refused = check(line, ref s);
        return refused is null ? (s, null, false) : (null, refused, false);
    }

    /// <summary>Reads <paramref name="name"/> when it is one of the shared switches.</summary>
    /// <returns>False when it is none of them (<paramref name="error"/> is then null).</returns>
    private static bool TryRead(string name, string value, ref BenchRunSettings s, out string? error)
    {
        error = null;
        switch (name)
        {
            case "--model":
                if ((error = NonEmpty(name, value, "model name")) is null)
                {
                    s = s with { Model = value };
                }

                return true;
            case "--rate":
                if (TryPositive(name, value, out double rate, out error))
                {
                    s = s with { Rate = rate };
                }

                return true;
            case "--concurrency":
                if (TryCount(name, value, 1, BenchRunSettings.MaxConcurrency, out int concurrency, out error))
                {
                    s = s with { Concurrency = concurrency };
                }

                return true;
            case "--duration":
                if (TryPositive(name, value, out double duration, out error))
                {
                    s = s with { Duration = TimeSpan.FromSeconds(duration) };
                }

                return true;
            case "--warmup":
                if (TryNonNegative(name, value, out double warmup, out error))
                {
                    s = s with { Warmup = TimeSpan.FromSeconds(warmup) };
                }

                return true;
            case "--csv":
                if ((error = NonEmpty(name, value, "file name")) is null)
                {
                    s = s with { CsvPath = value };
                }

                return true;
            case "--json":
                if ((error = NonEmpty(name, value, "file name")) is null)
                {
                    s = s with { JsonPath = value };
                }

                return true;
            case "--label":
                if ((error = SingleLine(name, value, "label")) is null)
                {
                    s = s with { Label = value };
                }

                return true;
            case "--seed":
                if (TryInteger(name, value, out int seed, out error))
                {
                    s = s with { Seed = seed };
                }

                return true;
            case "--timeout-ms":
                if (!TryPositive(name, value, out double timeout, out error))
                {
                    return true;
                }

                if (timeout > s_longestTimeout.TotalMilliseconds)
                {
                    error = $"option --timeout-ms: '{value}' is more than a day";
                }
                else
                {
                    s = s with { Timeout = TimeSpan.FromMilliseconds(timeout) };
                }

                return true;
            default:
                return false;
        }
    }
}
