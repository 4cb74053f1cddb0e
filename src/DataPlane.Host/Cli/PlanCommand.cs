using System.Globalization;
using DataPlane.CommandLine;
using DataPlane.Planning.Capacity;
using DataPlane.Planning.Inputs;
using DataPlane.Planning.Reports;

namespace DataPlane.Host.Cli;

/// <summary>The <c>dataplane plan</c> verb: parses its switches, reads the figures (Prometheus or a file), and prints
/// the plan from <see cref="CapacityPlanner"/>. Everything else lives in DataPlane.Planning.</summary>
internal static class PlanCommand
{
    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "plan", "GPU instances and hosts needed to hold the SLO at peak (docs/PLANNING.md)")
    {
        Usage = ["--prometheus URL [--window 1h] [--rate-interval 1m] [options]", "--input FILE.json [options]"],
        Options =
        [
            CommandOption.Value("--prometheus", "URL", "a Prometheus server that scrapes the daemons (and agents): figures over --window"),
            CommandOption.Value("--window", "D", "how far back to look, e.g. 30m, 1h, 7d (default 1h); the peak is the largest rate in it"),
            CommandOption.Value("--rate-interval", "D", "the interval rates are taken over (default 1m; at least twice the scrape interval)"),
            CommandOption.Value("--input", "FILE", "the same figures from a JSON file (schema in docs/PLANNING.md)"),
            CommandOption.Value("--save-input", "FILE", "also write the figures read as an --input file"),
            CommandOption.Value("--slo-ms", "X", "latency objective of every model (default: each model's Batching SloMs, or the file's)"),
            CommandOption.Value("--headroom", "P", "plan for the peak × (1 + P): 0.3 or 30% (default 30%)"),
            CommandOption.Value("--instances-per-host", "N", "instances one host runs (default: as measured, instances ÷ hosts)"),
            CommandOption.Value("--window-ms", "X", "batch-forming window reserved in every request's latency (default 5)"),
            CommandOption.Value("--peak-rps", "R", "plan for this peak request rate instead of the measured one"),
            CommandOption.Value("--hit-rate", "H", "plan for this local hit rate (0.7 or 70%) instead of the measured one"),
            CommandOption.Flag("--json", "print the plan as JSON"),
        ],
        Epilogue = "Exit status: 0 planned; 1 the figures could not be read or no pool holds the objective; 2 bad usage.",
    };

    /// <summary>What <c>dataplane plan --help</c> prints.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = CommandParser.Parse(Spec, args);
        if (a.HelpRequested)
        {
            await stdout.WriteLineAsync(Usage).ConfigureAwait(false);
            return 0;
        }

        if (a.Error is not null)
        {
            return Fail(stderr, a.Error);
        }

        string? problem = null;
        var settings = new PlanSettings
        {
            SloMs = Number(a, "--slo-ms", ref problem),
            Headroom = Share(a, "--headroom", ref problem) ?? 0.3,
            InstancesPerHost = Count(a, "--instances-per-host", ref problem),
            WindowMs = Number(a, "--window-ms", ref problem) ?? 5,
            PeakRequestsPerSecond = Number(a, "--peak-rps", ref problem),
            LocalHitRate = Share(a, "--hit-rate", ref problem),
        };
        TimeSpan window = Duration(a, "--window", ref problem) ?? TimeSpan.FromHours(1);
        TimeSpan rateInterval = Duration(a, "--rate-interval", ref problem) ?? TimeSpan.FromMinutes(1);
        Uri? prometheus = null;
        if (a.Value("--prometheus") is { } url
            && !(Uri.TryCreate(url, UriKind.Absolute, out prometheus) && prometheus.Scheme is "http" or "https"))
        {
            problem ??= $"--prometheus: '{Clip(url)}' is not an http:// or https:// URL";
        }

        if ((prometheus is null) == (a.Value("--input") is null))
        {
            problem ??= "give one of --prometheus URL or --input FILE";
        }

        if (a.Has("--save-input") && prometheus is null)
        {
            problem ??= "--save-input writes what --prometheus read: give --prometheus";
        }

        if (problem is not null)
        {
            return Fail(stderr, problem);
        }

        try
        {
            PlanInput input;
            if (prometheus is not null)
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var root = prometheus.AbsoluteUri.EndsWith('/') ? prometheus : new Uri(prometheus.AbsoluteUri + "/");
                input = await PrometheusFigures.ReadAsync(http, root, window, rateInterval, ct).ConfigureAwait(false);
                if (a.Value("--save-input") is { } save)
                {
                    try
                    {
                        await File.WriteAllTextAsync(save, PlanInputFile.Serialize(input) + "\n", ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new PlanInputException($"--save-input {save}: {e.Message}", e);
                    }
                }
            }
            else
            {
                input = PlanInputFile.Read(a.Value("--input")!);
            }

            var plan = CapacityPlanner.Plan(input, settings);
            await stdout.WriteAsync(a.Has("--json") ? PlanReport.Json(plan) + "\n" : PlanReport.Table(plan)).ConfigureAwait(false);
            return 0;
        }
        catch (PlanInputException e)
        {
            await stderr.WriteLineAsync($"dataplane plan: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int Fail(TextWriter stderr, string problem)
    {
        stderr.WriteLine(Spec.FormatError(problem));
        return 2;
    }

    private static double? Number(ParsedCommand a, string name, ref string? problem)
    {
        if (a.Value(name) is not { } text)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= 0)
        {
            return v;
        }

        problem ??= $"{name}: '{Clip(text)}' is not a number of 0 or more";
        return null;
    }

    /// <summary>A share written as 0.3 or 30%.</summary>
    private static double? Share(ParsedCommand a, string name, ref string? problem)
    {
        if (a.Value(name) is not { } text)
        {
            return null;
        }

        bool percent = text.EndsWith('%');
        if (double.TryParse(percent ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= 0)
        {
            return percent ? v / 100 : v;
        }

        problem ??= $"{name}: '{Clip(text)}' is not a share (0.3 or 30%)";
        return null;
    }

    private static int? Count(ParsedCommand a, string name, ref string? problem)
    {
        if (a.Value(name) is not { } text)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1)
        {
            return v;
        }

        problem ??= $"{name}: '{Clip(text)}' is not a whole number of 1 or more";
        return null;
    }

    private static TimeSpan? Duration(ParsedCommand a, string name, ref string? problem)
    {
        if (a.Value(name) is not { } text)
        {
            return null;
        }

        if (PrometheusFigures.ParseDuration(text) is { } d)
        {
            return d;
        }

        problem ??= $"{name}: '{Clip(text)}' is not a duration such as 90s, 30m, 1h or 7d";
        return null;
    }

    private static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
