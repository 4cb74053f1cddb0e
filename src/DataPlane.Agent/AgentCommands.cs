using DataPlane.Edge.Routing;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;

namespace DataPlane.Agent;

/// <summary>The verbs of `dataplane-agent`.</summary>
public static class AgentCommands
{
    public const string Usage = """
        dataplane-agent — DataPlane edge agent for Raspberry Pi nodes (OpenAI-compatible API, local-first, GPU escalation)

        Usage:
          dataplane-agent [serve] [options]      serve the API (default verb)
          dataplane-agent sim-local [--listen HOST:PORT]
                                                 run the SIMULATED Pi runtime (llama.cpp wire format) as its own process
          dataplane-agent train --data FILE.jsonl --out FILE.json
                                                 train the prompt classifier from labelled JSONL ({"prompt","gpu"})
          dataplane-agent calibrate --data FILE.jsonl --rate R --config FILE.json [--classifier FILE.json]
                                                 set Routing:Threshold in a config file so that a share R of prompts escalates
          dataplane-agent hash-key [--new]       print the SHA-256 of an API key read from stdin (for Authorization:Keys:<name>:Sha256);
                                                 --new makes a random key and prints it with its hash
          dataplane-agent version

        serve options (any key also works as --Section:Key=value; see docs/CONFIGURATION.md):
          --config FILE          JSON configuration file
          --api HOST:PORT        client API listener (default 0.0.0.0:8090; llama.cpp keeps 8080)
          --admin HOST:PORT      metrics/health/status listener (default 127.0.0.1:9091)
          --local KIND           local runtime: simulated (default), llama.cpp, ollama, hailo-ollama
          --local-url URL        the local runtime's address (unset with simulated: the simulation runs in-process)
          --gpu HOST:PORT[,…]    dataplane hosts of the GPU pool, or dns:///name:port
          --threshold X          classifier threshold (Routing:Threshold)

        Environment variables DATAPLANE_AGENT_<Section>__<Key> set the same keys.
        """;

    public static string Version { get; } = typeof(AgentCommands).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        string[] rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        try
        {
            switch (verb)
            {
                case "serve" when !rest.Contains("--help"):
                    return await ServeAsync(rest).ConfigureAwait(false);
                case "sim-local":
                    return await SimLocalAsync(rest).ConfigureAwait(false);
                case "train":
                    return Train(Options(rest, "--data", "--out"));
                case "calibrate":
                    return Calibrate(Options(rest, "--data", "--rate", "--config", "--classifier"));

                case "hash-key":
                    return await HashKeyAsync(rest).ConfigureAwait(false);
                case "version" or "--version":
                    Console.WriteLine($"dataplane-agent {Version}");
                    return 0;
                case "serve" or "help" or "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync(
                        $"dataplane-agent: unknown verb '{(verb.Length <= 64 ? verb : verb[..64] + "…")}' (dataplane-agent --help lists them)").ConfigureAwait(false);
                    return 2;
            }
        }
        catch (ConfigurationException e)
        {
            // One line per mistake, naming the key, switch or file; never a stack trace.
            e.WriteTo(Console.Error, verb is "serve" ? "dataplane-agent: " : $"dataplane-agent {verb}: ");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"dataplane-agent {verb}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        var configuration = AgentOptions.Build(args);
        var options = AgentOptions.Bind(configuration);
        ListenFailure.Check([("Listen:Api", options.Api.EndPoint), ("Listen:Admin", options.Admin.EndPoint)]);
        AgentApp app;
        try
        {
            app = await AgentApp.StartAsync(options, configuration).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException
            && ListenFailure.Describe(e, [("Listen:Api", options.Api.EndPoint), ("Listen:Admin", options.Admin.EndPoint)]) is { } failure)
        {
            throw failure;
        }

        await using (app.ConfigureAwait(false))
        {
            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> SimLocalAsync(string[] args)
    {
        var configuration = ConfigurationLayers.Build(args, "DATAPLANE_AGENT_", new Dictionary<string, string> { ["--listen"] = "Listen" });
        var b = new ConfigBinder(configuration);
        var endPoint = EndPoints.Parse(b.String("Listen", "127.0.0.1:8081"), "--listen", b);
        var s = new SimulatedLocalOptions();
        var options = new SimulatedLocalOptions
        {
            TimeToFirstToken = b.Milliseconds("Simulation:TimeToFirstTokenMs", s.TimeToFirstToken, 0, 600_000),
            TokensPerSecond = b.Double("Simulation:TokensPerSecond", s.TokensPerSecond, 0.01, 100_000),
            MaxTokens = b.Int("Simulation:MaxTokens", s.MaxTokens, 1, 1 << 20),
            Parallelism = b.Int("Simulation:Parallelism", s.Parallelism, 1, 4096),
            ConcurrencySlowdown = b.Double("Simulation:ConcurrencySlowdown", s.ConcurrencySlowdown, 0, 100),
        };
        LoggingBinding.Read(b);
        b.RejectUnknownKeys();
        b.ThrowIfInvalid();
        using var stop = new CancellationTokenSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        ListenFailure.Check([("--listen", endPoint!)]);
        SimulatedLocalRuntimeServer server;
        try
        {
            server = await SimulatedLocalRuntimeServer.StartAsync(options, endPoint!).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException
            && ListenFailure.Describe(e, [("--listen", endPoint!)]) is { } failure)
        {
            throw failure;
        }

        await using var running = server.ConfigureAwait(false);
        Console.WriteLine($"Simulated Pi local runtime (a simulation, llama.cpp wire format) at {server.Address}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    /// <summary>hash-key: the key comes on stdin (not the command line, where other users and the shell history see it);
    /// one line, its line ending dropped. --new makes one.</summary>
    private static async Task<int> HashKeyAsync(string[] args)
    {
        if (args.Length > 1 || (args.Length == 1 && args[0] != "--new"))
        {
            throw new ConfigurationException($"hash-key: unknown argument '{args[0]}' (hash-key reads the key from stdin; hash-key --new makes one)");
        }

        if (args.Length == 1)
        {
            string key = Edge.Api.ApiKeySet.NewKey();
            Console.WriteLine($"key     {key}");
            Console.WriteLine($"sha256  {Edge.Api.ApiKeySet.Hash(key)}");
            Console.WriteLine("Give the key to the client (OpenAI SDKs: api_key / OPENAI_API_KEY); put only the sha256 in Authorization:Keys:<name>:Sha256.");
            return 0;
        }

        string? line = await Console.In.ReadLineAsync().ConfigureAwait(false);
        if (string.IsNullOrEmpty(line))
        {
            throw new ConfigurationException("hash-key: no key on stdin (e.g. printf %s \"$KEY\" | dataplane-agent hash-key)");
        }

        Console.WriteLine(Edge.Api.ApiKeySet.Hash(line));
        return 0;
    }

    private static int Train(Dictionary<string, string> o)
    {
        var result = ClassifierTrainer.TrainFromFile(o["--data"]);
        result.Save(o["--out"]);
        Console.WriteLine($"trained on {result.Model.Metrics?.Examples} prompts: accuracy {result.TrainAccuracy:P1}, log-loss {result.TrainLogLoss:0.000}; wrote {o["--out"]}");
        return 0;
    }

    private static int Calibrate(Dictionary<string, string> o)
    {
        if (!double.TryParse(o["--rate"], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate)
            || rate < 0 || rate > 1)
        {
            throw new ConfigurationException($"--rate: '{o["--rate"]}' is not a share between 0 and 1");
        }

        var classifier = o.TryGetValue("--classifier", out var path) ? PromptClassifier.Load(path) : PromptClassifier.Default;
        var result = Calibration.CalibrateFromFile(o["--data"], classifier, rate);
        ConfigWriter.SetValue(o["--config"], "Routing:Threshold", result.Threshold);
        Console.WriteLine($"threshold {result.Threshold:0.0000} escalates {result.AchievedRate:P1} of {result.Prompts} prompts (target {rate:P1}); " +
            $"wrote Routing:Threshold to {o["--config"]}");
        return 0;
    }

    /// <summary>Parses "--name value" pairs; the first names are required, the rest optional.</summary>
    private static Dictionary<string, string> Options(string[] args, params string[] names)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!names.Contains(args[i]) || i + 1 >= args.Length)
            {
                throw new ConfigurationException($"'{args[i]}' is not an option here (options: {string.Join(", ", names)}), or lacks its value");
            }

            o[args[i]] = args[++i];
        }

        foreach (string required in names.Take(names.Contains("--classifier") ? names.Length - 1 : names.Length))
        {
            if (!o.ContainsKey(required))
            {
                throw new ConfigurationException($"{required} is required");
            }
        }

        return o;
    }
}
