using System.Globalization;

using DataPlane.CommandLine;

using static DataPlane.CommandLine.OptionValues;

namespace DataPlane.Bench;

/// <summary>The outcome of parsing the bench command line: settings, a request for help, or an error
/// message that names the offending option.</summary>
/// <param name="Settings">The parsed settings; null when <paramref name="Error"/> is set or help was asked for.</param>
/// <param name="Error">Why the command line was refused, naming the option; null when it was accepted.</param>
/// <param name="HelpRequested">True when --help (or -h) was given; nothing else is then checked.</param>
public sealed record BenchParseResult(BenchSettings? Settings, string? Error, bool HelpRequested);

/// <summary>The <c>dataplane bench</c> options on the shared command-line layer (<see cref="CommandParser"/>):
/// values as the next argument or after '=' (<c>--rate 200</c>, <c>--rate=200</c>); a repeated option keeps its last
/// value. Unknown options, missing or malformed values, positional arguments and contradictory combinations are errors
/// that name the option.</summary>
public static class BenchArguments
{
    /// <summary>Upper bound of the arrivals one open-loop step may schedule (rate × (warm-up + duration)),
    /// so that a typo cannot allocate gigabytes.</summary>
    public const long MaxArrivalsPerStep = 20_000_000;

    /// <summary>Most closed-loop workers.</summary>
    public const int MaxConcurrency = BenchRunSettings.MaxConcurrency;

    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "bench", "load generator for any KServe v2 / Triton endpoint, gRPC or HTTP")
    {
        Description = """
            Load generator for any KServe v2 / Triton endpoint, gRPC or HTTP (Triton, the DataPlane daemon, the simulator).
            Runs one measured step per rate (open loop) or concurrency (closed loop) and prints one row per step.
            """,
        Options =
        [
            CommandOption.Value("--target", "URL", "endpoint (default http://127.0.0.1:9001; the daemon's HTTP port is 9000)"),
            CommandOption.Value("--protocol", "P", "grpc: KServe v2 gRPC (default); http: KServe v2 HTTP/REST with binary tensors"),
            BenchRunOptions.Declare("--model", "model to infer against (default simple)"),
            CommandOption.Value("--rpc", "infer|live", "infer: ModelInfer (HTTP: POST .../infer) with generated inputs (default);\n" +
                "live: ServerLive (HTTP: GET /v2/health/live) round trips, the cost of a bare hop"),
            CommandOption.Value("--mode", "MODE", "poisson: open loop, Poisson arrivals (default)\nconstant: open loop, fixed interval\n" +
                "closed: N workers sending back to back"),
            BenchRunOptions.Declare("--rate", "requests/s of an open-loop step (default 100)"),
            BenchRunOptions.Declare("--concurrency", "workers of a closed-loop step (default 1)"),
            CommandOption.Value("--sweep", "V1,V2,...", "one step per value: rates (open loop) or concurrencies (closed loop)"),
            BenchRunOptions.Declare("--duration", "measured seconds per step (default 5)"),
            BenchRunOptions.Declare("--warmup", "seconds of load before each step's measurement, not measured (default 1)"),
            CommandOption.Value("--slo-ms", "X", "latency objective; SLO attainment = share of requests that succeeded\nwithin X ms (default 50)"),
            CommandOption.Value("--batch", "N", "rows per request (default 1)"),
            BenchRunOptions.Declare("--csv", "append one row per step (header written when the file is new)"),
            BenchRunOptions.Declare("--json", "append the whole run as one JSON line"),
            BenchRunOptions.Declare("--label", "carried into every row, e.g. the batching policy"),
            BenchRunOptions.Declare("--seed", "seed of arrivals and inputs (default 1)"),
            CommandOption.Value("--connections", "N", "gRPC channels / HTTP/2 connections (default 1)"),
            CommandOption.Value("--server-metrics", "URL", "the server's Prometheus endpoint (the daemon's admin /metrics); each step\n" +
                "then reports the server's CPU us and allocated bytes per request"),
            BenchRunOptions.Declare("--timeout-ms", "per-request gRPC deadline (default 10000)"),
        ],
        Epilogue = """
            Open-loop latency counts from each request's scheduled send time, so a client that falls
            behind does not hide queueing ("late" counts sends more than 1 ms behind schedule).
            Exit codes: 0 done (even when requests failed), 1 I/O error, 2 bad arguments, 130 cancelled.
            """,
    };

    /// <summary>The usage text printed by --help.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

    /// <summary>Parses <paramref name="args"/> (the arguments after the verb).</summary>
    public static BenchParseResult Parse(IReadOnlyList<string> args)
    {
        var (settings, error, help) = BenchRunOptions.Parse(Spec, args, new BenchSettings(), ReadOption, Check);
        return new BenchParseResult(settings, error, help);
    }

    /// <summary>Reads one of the options only this verb has.</summary>
    private static string? ReadOption(string name, string value, ref BenchSettings s)
    {
        string? error = null;
        switch (name)
        {
            case "--target":
                if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    s = s with { Target = uri };
                }
                else
                {
                    error = $"option --target: '{value}' is not an http:// or https:// URL";
                }

                break;
            case "--server-metrics":
                if (Uri.TryCreate(value, UriKind.Absolute, out var metrics) && (metrics.Scheme == Uri.UriSchemeHttp || metrics.Scheme == Uri.UriSchemeHttps))
                {
                    s = s with { ServerMetrics = metrics };
                }
                else
                {
                    error = $"option --server-metrics: '{value}' is not an http:// or https:// URL";
                }

                break;
            case "--protocol":
                switch (value)
                {
                    case "grpc": s = s with { Protocol = WireProtocol.Grpc }; break;
                    case "http": s = s with { Protocol = WireProtocol.Http }; break;
                    default: error = $"option --protocol: '{value}' is not one of grpc, http"; break;
                }

                break;
            case "--rpc":
                switch (value)
                {
                    case "infer": s = s with { Rpc = RpcKind.Infer }; break;
                    case "live": s = s with { Rpc = RpcKind.Live }; break;
                    default: error = $"option --rpc: '{value}' is not one of infer, live"; break;
                }

                break;
            case "--mode":
                switch (value)
                {
                    case "poisson": s = s with { Mode = LoadMode.Poisson }; break;
                    case "constant": s = s with { Mode = LoadMode.Constant }; break;
                    case "closed": s = s with { Mode = LoadMode.Closed }; break;
                    default: error = $"option --mode: '{value}' is not one of poisson, constant, closed"; break;
                }

                break;
            case "--sweep":
                if (TryList(value, out var sweep, out error))
                {
                    s = s with { Sweep = sweep };
                }

                break;
            case "--slo-ms":
                if (TryPositive(name, value, out double slo, out error))
                {
                    s = s with { Slo = TimeSpan.FromMilliseconds(slo) };
                }

                break;
            case "--batch":
                if (TryCount(name, value, 1, 1 << 20, out int batch, out error))
                {
                    s = s with { Batch = batch };
                }

                break;
            case "--connections":
                if (TryCount(name, value, 1, 1024, out int connections, out error))
                {
                    s = s with { Connections = connections };
                }

                break;
        }

        return error;
    }

    /// <summary>The combinations of the load options, and the arrivals one step may schedule.</summary>
    private static string? Check(ParsedCommand line, ref BenchSettings s)
    {
        bool rateGiven = line.Has("--rate"), concurrencyGiven = line.Has("--concurrency");
        if (s.Mode.IsOpenLoop())
        {
            if (concurrencyGiven)
            {
                return $"option --concurrency applies to --mode closed only, not --mode {s.Mode.Name()} (use --rate)";
            }

            if (rateGiven && s.Sweep.Count > 0)
            {
                return "option --sweep replaces --rate; give one of them";
            }

            double seconds = (s.Warmup + s.Duration).TotalSeconds;
            foreach (double rate in s.Steps)
            {
                if (rate * seconds > MaxArrivalsPerStep)
                {
                    string option = s.Sweep.Count > 0 ? "--sweep" : "--rate";
                    return $"option {option}: {rate.ToString(CultureInfo.InvariantCulture)} req/s over " +
                        $"{seconds.ToString(CultureInfo.InvariantCulture)} s is more than {MaxArrivalsPerStep} requests in one step " +
                        "(lower the rate or --duration)";
                }
            }
        }
        else
        {
            if (rateGiven)
            {
                return "option --rate applies to open-loop modes (poisson, constant), not --mode closed (use --concurrency)";
            }

            if (concurrencyGiven && s.Sweep.Count > 0)
            {
                return "option --sweep replaces --concurrency; give one of them";
            }

            foreach (double n in s.Sweep)
            {
                if (n != Math.Floor(n) || n > MaxConcurrency)
                {
                    return $"option --sweep: closed mode needs whole numbers of workers from 1 to {MaxConcurrency}, got {n.ToString(CultureInfo.InvariantCulture)}";
                }
            }
        }

        return null;
    }

    private static bool TryList(string value, out double[] values, out string? error)
    {
        string[] parts = value.Split(',', StringSplitOptions.TrimEntries);
        values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])
                || !double.IsFinite(values[i]) || values[i] <= 0)
            {
                error = $"option --sweep: '{parts[i]}' in '{value}' is not a positive number";
                return false;
            }
        }

        error = null;
        return true;
    }
}
