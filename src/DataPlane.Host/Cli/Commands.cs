using DataPlane.Bench;
using DataPlane.CommandLine;
using DataPlane.Batching.Frontend;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Simulation;
using DataPlane.Simulation.Cli;
using DataPlane.Simulation.Options;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Cli;

/// <summary>The verbs of the `dataplane` executable.</summary>
public static class Commands
{
    /// <summary><c>dataplane serve</c>: its switches are read by the strict configuration layers
    /// (<see cref="DaemonConfiguration.Build"/>); declared here for the help.</summary>
    public static CommandSpec ServeSpec { get; } = new("dataplane", "serve", "run the daemon (the default verb)")
    {
        PassThrough = true,
        AcceptsConfigurationKeys = true,
        Options =
        [
            CommandOption.Value("--config", "FILE", "JSON configuration file"),
            CommandOption.Value("--upstream", "URL", "Triton's gRPC address, e.g. http://127.0.0.1:8001\n(unset: the embedded SIMULATED Triton stands in)"),
            CommandOption.Value("--grpc", "HOST:PORT", "gRPC listener (default 0.0.0.0:9001)"),
            CommandOption.Value("--http", "HOST:PORT", "HTTP/REST listener, KServe v2 as Triton's port 8000 (default 0.0.0.0:9000)"),
            new CommandOption("--allow-client-shm", "let clients register shared-memory regions (off by default, as in Triton)") { Arity = OptionArity.OptionalBoolean },
            CommandOption.Value("--admin", "HOST:PORT", "metrics/health/status listener (default 127.0.0.1:9002)"),
            CommandOption.Value("--policy", "adaptive|fixed|none", "default batching policy (default adaptive)"),
            CommandOption.Value("--min-window-ms", "X", "Batching:Defaults:MinWindowMs"),
            CommandOption.Value("--max-window-ms", "X", "Batching:Defaults:MaxWindowMs"),
            CommandOption.Value("--max-queue-delay-ms", "X", "Batching:Defaults:MaxQueueDelayMs"),
            CommandOption.Value("--slo-ms", "X", "Batching:Defaults:SloMs"),
        ],
        Epilogue = """
            Any configuration key also works as --Section:Key=value (docs/CONFIGURATION.md).
            Environment variables DATAPLANE_<Section>__<Key> set the same keys.
            """,
    };

    /// <summary>The verbs of <c>dataplane</c>, each declared once for its parser and help.</summary>
    public static CommandLineApp App { get; } = new CommandLineApp(
            "dataplane",
            "DataPlane GPU-host daemon (KServe v2 gRPC front end with adaptive batching in front of Triton)",
            CommandLineApp.VersionOf(typeof(Commands).Assembly),
            "serve")
        {
            Epilogue = "Environment variables DATAPLANE_<Section>__<Key> set the configuration keys (docs/CONFIGURATION.md).",
        }
        .Add(ServeSpec, (_, rest) => ServeAsync(rest))
        .Add(SimulationCommandLine.Spec, (_, rest) => SimAsync(rest))
        .Add(BenchArguments.Spec, (_, rest) => BenchWithCtrlC(rest, BenchCommand.RunAsync))
        .Add(DataPlane.Bench.Agent.AgentBenchArguments.Spec, (_, rest) => BenchWithCtrlC(rest, DataPlane.Bench.Agent.AgentBenchCommand.RunAsync))
        .Add(Demo.Spec, (_, rest) => Demo.RunAsync(rest, Console.Out, Console.Error))
        .Add(PlanCommand.Spec, (_, rest) => BenchWithCtrlC(rest, PlanCommand.RunAsync))
        .Add(HostCommands.TopoSpec, (_, rest) => Task.FromResult(HostCommands.Topo(rest, Console.Out, Console.Error)))
        .Add(HostCommands.SelfTestSpec, (_, rest) => Task.FromResult(HostCommands.SelfTest(rest, Console.Out, Console.Error)))
        .Add(HostCommands.TuneSpec, (_, rest) => Task.FromResult(HostCommands.Tune(rest, Console.Out, Console.Error)))
        .Add(DataPlane.Transfer.Bench.XferBenchArguments.Spec, (_, rest) => BenchWithCtrlC(rest, DataPlane.Transfer.Bench.XferBench.RunAsync));

    /// <summary>What <c>dataplane --help</c> prints.</summary>
    public static string Usage => App.RenderHelp();

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>Runs the command line; help, version and refused command lines go to the writers given (what a verb
    /// prints once it runs goes to the console).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return await App.RunAsync(args, stdout, stderr).ConfigureAwait(false);
        }
        catch (ConfigurationException e)
        {
            // One line per mistake, naming the key, switch or file; never a stack trace.
            e.WriteTo(stderr, "dataplane: ");
            return 2;
        }
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        var configuration = DaemonConfiguration.Build(args);
        var options = DaemonConfiguration.Bind(configuration);
        ListenFailure.Check(Listeners(options));
        Daemon daemon;
        try
        {
            daemon = await Daemon.StartAsync(options, configuration).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException
            && ListenFailure.Describe(e, Listeners(options)) is { } failure)
        {
            throw failure;
        }

        await using (daemon.ConfigureAwait(false))
        {
            await daemon.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>The daemon's listening sockets by configuration key, to name the one that cannot be opened.</summary>
    private static List<(string Key, System.Net.IPEndPoint EndPoint)> Listeners(DaemonOptions options)
    {
        var listeners = new List<(string, System.Net.IPEndPoint)>
        {
            ("Listen:Grpc", options.Grpc.EndPoint),
            ("Listen:Http", options.Http.EndPoint),
            ("Listen:Admin", options.Admin.EndPoint),
        };
        if (options.Transfer.Listen is { } transfer)
        {
            listeners.Add(("Transfer:Listen", transfer));
        }

        return listeners;
    }

    private static async Task<int> SimAsync(string[] args)
    {
        var line = SimulationCommandLine.Parse(args);
        if (line.Help)
        {
            return Print(SimulationCommandLine.Usage);
        }

        if (line.Error is { } error)
        {
            return Fail(error);
        }

        try
        {
            return await SimServeAsync(line).ConfigureAwait(false);
        }
        catch (ConfigurationException e)
        {
            e.WriteTo(Console.Error, "dataplane sim: ");
            return 2;
        }
    }

    private static async Task<int> SimServeAsync(SimulationCommandLine line)
    {
        var configuration = ConfigurationLayers.Build([.. line.Arguments], "DATAPLANE_", new Dictionary<string, string> { ["--listen"] = "Listen" });
        var binder = new ConfigBinder(configuration);
        var endPoint = EndPoints.Parse(binder.String("Listen", "127.0.0.1:8001"), "--listen", binder);
        SimulationOptions simulation = SimulationOptions.Default;
        try
        {
            simulation = SimulationOptions.Bind(binder.Section("Simulation"));
        }
        catch (SimulationConfigException e)
        {
            binder.Error(e.Key, e.Reason);
        }

        LoggingBinding.Read(binder);
        binder.RejectUnknownKeys();
        binder.ThrowIfInvalid();
        ListenFailure.Check([("--listen", endPoint!)]);
        SimulatorServer server;
        try
        {
            server = await SimulatorServer.StartAsync(simulation, endPoint!, embedded: false, configuration).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException
            && ListenFailure.Describe(e, [("--listen", endPoint!)]) is { } failure)
        {
            throw failure;
        }

        await using (server.ConfigureAwait(false))
        {
            await server.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> BenchWithCtrlC(string[] args, Func<string[], TextWriter, TextWriter, CancellationToken, Task<int>> run)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await run(args, Console.Out, Console.Error, cts.Token).ConfigureAwait(false);
    }

    private static int Print(string text)
    {
        Console.Out.WriteLine(text);
        return 0;
    }

    private static int Fail(string text)
    {
        Console.Error.WriteLine(text);
        return 2;
    }
}
