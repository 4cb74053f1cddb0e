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
    public const int MaxConcurrency = 10_000;

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
            CommandOption.Value("--model", "NAME", "model to infer against (default simple)"),
            CommandOption.Value("--rpc", "infer|live", "infer: ModelInfer (HTTP: POST .../infer) with generated inputs (default);\n" +
                "live: ServerLive (HTTP: GET /v2/health/live) round trips, the cost of a bare hop"),
            CommandOption.Value("--mode", "MODE", "poisson: open loop, Poisson arrivals (default)\nconstant: open loop, fixed interval\n" +
                "closed: N workers sending back to back"),
            CommandOption.Value("--rate", "R", "requests/s of an open-loop step (default 100)"),
            CommandOption.Value("--concurrency", "N", "workers of a closed-loop step (default 1)"),
            CommandOption.Value("--sweep", "V1,V2,...", "one step per value: rates (open loop) or concurrencies (closed loop)"),
            CommandOption.Value("--duration", "S", "measured seconds per step (default 5)"),
            CommandOption.Value("--warmup", "S", "seconds of load before each step's measurement, not measured (default 1)"),
            CommandOption.Value("--slo-ms", "X", "latency objective; SLO attainment = share of requests that succeeded\nwithin X ms (default 50)"),
            CommandOption.Value("--batch", "N", "rows per request (default 1)"),
            CommandOption.Value("--csv", "FILE", "append one row per step (header written when the file is new)"),
            CommandOption.Value("--json", "FILE", "append the whole run as one JSON line"),
            CommandOption.Value("--label", "TEXT", "carried into every row, e.g. the batching policy"),
            CommandOption.Value("--seed", "N", "seed of arrivals and inputs (default 1)"),
            CommandOption.Value("--connections", "N", "gRPC channels / HTTP/2 connections (default 1)"),
            CommandOption.Value("--timeout-ms", "X", "per-request gRPC deadline (default 10000)"),
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
        var line = CommandParser.Parse(Spec, args);
        if (line.HelpRequested)
        {
            return new BenchParseResult(null, null, HelpRequested: true);
        }

        if (line.Error is { } problem)
        {
            return Fail(problem);
        }

        var s = new BenchSettings();
        bool rateGiven = false, concurrencyGiven = false;
        foreach (var (option, given) in line.Given)
        {
            string name = option.Name;
            string value = given ?? "";
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
                case "--model":
                    if ((error = NonEmpty(name, value, "model name")) is null)
                    {
                        s = s with { Model = value };
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
                case "--rate":
                    rateGiven = true;
                    if (TryPositive(name, value, out double rate, out error))
                    {
                        s = s with { Rate = rate };
                    }

                    break;
                case "--concurrency":
                    concurrencyGiven = true;
                    if (TryCount(name, value, 1, MaxConcurrency, out int concurrency, out error))
                    {
                        s = s with { Concurrency = concurrency };
                    }

                    break;
                case "--sweep":
                    if (TryList(value, out var sweep, out error))
                    {
                        s = s with { Sweep = sweep };
                    }

                    break;
                case "--duration":
                    if (TryPositive(name, value, out double duration, out error))
                    {
                        s = s with { Duration = TimeSpan.FromSeconds(duration) };
                    }

                    break;
                case "--warmup":
                    if (TryNonNegative(name, value, out double warmup, out error))
                    {
                        s = s with { Warmup = TimeSpan.FromSeconds(warmup) };
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
                case "--csv":
                    if ((error = NonEmpty(name, value, "file name")) is null)
                    {
                        s = s with { CsvPath = value };
                    }

                    break;
                case "--json":
                    if ((error = NonEmpty(name, value, "file name")) is null)
                    {
                        s = s with { JsonPath = value };
                    }

                    break;
                case "--label":
                    if ((error = SingleLine(name, value, "label")) is null)
                    {
                        s = s with { Label = value };
                    }

                    break;
                case "--seed":
                    if (TryInteger(name, value, out int seed, out error))
                    {
                        s = s with { Seed = seed };
                    }

                    break;
                case "--connections":
                    if (TryCount(name, value, 1, 1024, out int connections, out error))
                    {
                        s = s with { Connections = connections };
                    }

                    break;
                case "--timeout-ms":
                    if (TryPositive(name, value, out double timeout, out error))
                    {
                        s = s with { Timeout = TimeSpan.FromMilliseconds(timeout) };
                    }

                    break;
            }

            if (error is not null)
            {
                return Fail(error);
            }
        }

        return Check(s, rateGiven, concurrencyGiven);
    }

    private static BenchParseResult Check(BenchSettings s, bool rateGiven, bool concurrencyGiven)
    {
        if (s.Mode.IsOpenLoop())
        {
            if (concurrencyGiven)
            {
                return Fail($"option --concurrency applies to --mode closed only, not --mode {s.Mode.Name()} (use --rate)");
            }

            if (rateGiven && s.Sweep.Count > 0)
            {
                return Fail("option --sweep replaces --rate; give one of them");
            }

            double seconds = (s.Warmup + s.Duration).TotalSeconds;
            foreach (double rate in s.Steps)
            {
                if (rate * seconds > MaxArrivalsPerStep)
                {
                    string option = s.Sweep.Count > 0 ? "--sweep" : "--rate";
                    return Fail($"option {option}: {rate.ToString(CultureInfo.InvariantCulture)} req/s over " +
                        $"{seconds.ToString(CultureInfo.InvariantCulture)} s is more than {MaxArrivalsPerStep} requests in one step " +
                        "(lower the rate or --duration)");
                }
            }
        }
        else
        {
            if (rateGiven)
            {
                return Fail("option --rate applies to open-loop modes (poisson, constant), not --mode closed (use --concurrency)");
            }

            if (concurrencyGiven && s.Sweep.Count > 0)
            {
                return Fail("option --sweep replaces --concurrency; give one of them");
            }

            foreach (double n in s.Sweep)
            {
                if (n != Math.Floor(n) || n > MaxConcurrency)
                {
                    return Fail($"option --sweep: closed mode needs whole numbers of workers from 1 to {MaxConcurrency}, got {n.ToString(CultureInfo.InvariantCulture)}");
                }
            }
        }

        return new BenchParseResult(s, null, HelpRequested: false);
    }

    private static BenchParseResult Fail(string error) => new(null, error, HelpRequested: false);

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
