using DataPlane.CommandLine;
using DataPlane.Edge.Routing;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;

namespace DataPlane.Agent;

/// <summary>The verbs of `dataplane-agent`.</summary>
public static class AgentCommands
{
    /// <summary><c>dataplane-agent serve</c>: its switches are read by the strict configuration layers
    /// (<see cref="AgentOptions.Build"/>); declared here for the help.</summary>
    public static CommandSpec ServeSpec { get; } = new("dataplane-agent", "serve", "serve the API (the default verb)")
    {
        PassThrough = true,
        AcceptsConfigurationKeys = true,
        Options =
        [
            CommandOption.Value("--config", "FILE", "JSON configuration file"),
            CommandOption.Value("--api", "HOST:PORT", "client API listener (default 0.0.0.0:8090; llama.cpp keeps 8080)"),
            CommandOption.Value("--admin", "HOST:PORT", "metrics/health/status listener (default 127.0.0.1:9091)"),
            CommandOption.Value("--local", "KIND", "local runtime: simulated (default), llama.cpp, ollama, hailo-ollama"),
            CommandOption.Value("--local-url", "URL", "the local runtime's address (unset with simulated: the simulation runs in-process)"),
            CommandOption.Value("--gpu", "HOST:PORT[,…]", "dataplane hosts of the GPU pool, or dns:///name:port"),
            CommandOption.Value("--threshold", "X", "classifier threshold (Routing:Threshold)"),
        ],
        Epilogue = """
            Any configuration key also works as --Section:Key=value (docs/CONFIGURATION.md).
            Environment variables DATAPLANE_AGENT_<Section>__<Key> set the same keys.
            """,
    };

    /// <summary><c>dataplane-agent sim-local</c>: read by the configuration layers like serve.</summary>
    public static CommandSpec SimLocalSpec { get; } = new("dataplane-agent", "sim-local", "run the SIMULATED Pi runtime (llama.cpp wire format) as its own process")
    {
        PassThrough = true,
        AcceptsConfigurationKeys = true,
        Options = [CommandOption.Value("--listen", "HOST:PORT", "listener (default 127.0.0.1:8081)")],
        Epilogue = """
            --Simulation:KEY=VALUE: TimeToFirstTokenMs, TokensPerSecond, MaxTokens, Parallelism, ConcurrencySlowdown.
            Environment variables DATAPLANE_AGENT_<Section>__<Key> set the same keys.
            """,
    };

    /// <summary><c>dataplane-agent train</c>.</summary>
    public static CommandSpec TrainSpec { get; } = new("dataplane-agent", "train", "train the prompt classifier from labelled JSONL ({\"prompt\",\"gpu\"})")
    {
        Options =
        [
            CommandOption.Value("--data", "FILE.jsonl", "labelled prompts, one {\"prompt\": \"...\", \"gpu\": true|false} per line") with { Required = true },
            CommandOption.Value("--out", "FILE.json", "where to write the classifier") with { Required = true },
        ],
    };

    /// <summary><c>dataplane-agent calibrate</c>.</summary>
    public static CommandSpec CalibrateSpec { get; } = new("dataplane-agent", "calibrate", "set Routing:Threshold in a config file so that a share R of prompts escalates")
    {
        Options =
        [
            CommandOption.Value("--data", "FILE.jsonl", "prompts to calibrate on") with { Required = true },
            CommandOption.Value("--rate", "R", "the share of prompts to escalate, 0 to 1") with { Required = true },
            CommandOption.Value("--config", "FILE.json", "the configuration file to write Routing:Threshold into") with { Required = true },
            CommandOption.Value("--classifier", "FILE.json", "a trained classifier (default: the built-in one)"),
        ],
    };

    /// <summary><c>dataplane-agent hash-key</c>.</summary>
    public static CommandSpec HashKeySpec { get; } = new("dataplane-agent", "hash-key", "print the SHA-256 of an API key read from stdin (for Authorization:Keys:<name>:Sha256)")
    {
        Options = [CommandOption.Flag("--new", "make a random key and print it with its hash")],
    };

    /// <summary>The verbs of <c>dataplane-agent</c>, each declared once for its parser and help.</summary>
    public static CommandLineApp App { get; } = new CommandLineApp(
            "dataplane-agent",
            "DataPlane edge agent for Raspberry Pi nodes (OpenAI-compatible API, local-first, GPU escalation)",
            CommandLineApp.VersionOf(typeof(AgentCommands).Assembly),
            "serve")
        {
            Epilogue = "Environment variables DATAPLANE_AGENT_<Section>__<Key> set the configuration keys (docs/CONFIGURATION.md).",
        }
        .Add(ServeSpec, (_, rest) => ServeAsync(rest))
        .Add(SimLocalSpec, (_, rest) => SimLocalAsync(rest))
        .Add(TrainSpec, (line, _) => Task.FromResult(Train(line)))
        .Add(CalibrateSpec, (line, _) => Task.FromResult(Calibrate(line)))
        .Add(HashKeySpec, (line, _) => HashKeyAsync(line.Has("--new")));

    /// <summary>What <c>dataplane-agent --help</c> prints.</summary>
    public static string Usage => App.RenderHelp();

    /// <summary>The version <c>dataplane-agent --version</c> prints.</summary>
    public static string Version => App.Version;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>Runs the command line; help, version and refused command lines go to the writers given (what a verb
    /// prints once it runs goes to the console).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        try
        {
            return await App.RunAsync(args, stdout, stderr).ConfigureAwait(false);
        }
        catch (ConfigurationException e)
        {
            // One line per mistake, naming the key, switch or file; never a stack trace.
            e.WriteTo(stderr, verb is "serve" ? "dataplane-agent: " : $"dataplane-agent {verb}: ");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"dataplane-agent {verb}: {e.Message}").ConfigureAwait(false);
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
    private static async Task<int> HashKeyAsync(bool newKey)
    {
        if (newKey)
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

    private static int Train(ParsedCommand o)
    {
        string data = o.Value("--data")!, output = o.Value("--out")!;
        var result = ClassifierTrainer.TrainFromFile(data);
        result.Save(output);
        Console.WriteLine($"trained on {result.Model.Metrics?.Examples} prompts: accuracy {result.TrainAccuracy:P1}, log-loss {result.TrainLogLoss:0.000}; wrote {output}");
        return 0;
    }

    private static int Calibrate(ParsedCommand o)
    {
        string given = o.Value("--rate")!, config = o.Value("--config")!;
        if (!double.TryParse(given, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate)
            || rate < 0 || rate > 1)
        {
            throw new ConfigurationException($"--rate: '{given}' is not a share between 0 and 1");
        }

        var classifier = o.Value("--classifier") is { } path ? PromptClassifier.Load(path) : PromptClassifier.Default;
        var result = Calibration.CalibrateFromFile(o.Value("--data")!, classifier, rate);
        ConfigWriter.SetValue(config, "Routing:Threshold", result.Threshold);
        Console.WriteLine($"threshold {result.Threshold:0.0000} escalates {result.AchievedRate:P1} of {result.Prompts} prompts (target {rate:P1}); " +
            $"wrote Routing:Threshold to {config}");
        return 0;
    }
}
