using DataPlane.Bench;
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
    public const string Usage = """
        dataplane — DataPlane GPU-host daemon (KServe v2 gRPC front end with adaptive batching in front of Triton)

        Usage:
          dataplane [serve] [options]   run the daemon (default verb)
          dataplane sim [options]       run the simulated Triton as its own process
          dataplane bench [options]     load generator for any KServe v2 gRPC endpoint (dataplane bench --help)
          dataplane bench-agent [options]
                                        mixed-workload load generator for an agent's OpenAI API (… --help)
          dataplane demo                the daemon in front of the simulated Triton plus a short load run
          dataplane plan --prometheus URL | --input FILE
                                        GPU instances and hosts needed to hold the SLO at peak (dataplane plan --help)
          dataplane topo [--json]       GPU/NVLink/NIC/NUMA matrix of this host (as nvidia-smi topo -m) with NIC advice
          dataplane tune plan|apply|verify|rollback --profile gpu-host|pi-edge
                                        sysctl, NIC, IRQ and CPU tuning; plan changes nothing (dataplane tune --help)
          dataplane xfer-bench --server | --connect HOST:PORT [--transport auto|rdma|tcp]
                                        RDMA/TCP bandwidth and latency between two hosts (dataplane xfer-bench --help)
          dataplane version             print the version

        serve options (any configuration key also works as --Section:Key=value; see docs/CONFIGURATION.md):
          --config FILE                 JSON configuration file
          --upstream URL                Triton's gRPC address, e.g. http://127.0.0.1:8001
                                        (unset: the embedded SIMULATED Triton stands in)
          --grpc HOST:PORT              gRPC listener (default 0.0.0.0:9001)
          --http HOST:PORT              HTTP/REST listener, KServe v2 as Triton's port 8000 (default 0.0.0.0:9000)
          --allow-client-shm[=true]     let clients register shared-memory regions (off by default, as in Triton)
          --admin HOST:PORT             metrics/health/status listener (default 127.0.0.1:9002)
          --policy adaptive|fixed|none  default batching policy (default adaptive)
          --min-window-ms / --max-window-ms / --max-queue-delay-ms / --slo-ms

        sim options:
          --listen HOST:PORT            gRPC listener (default 127.0.0.1:8001, Triton's port)
          --config FILE                 JSON file with a Simulation section (models)
          --model-control none|explicit, --load-model NAME, --allow-client-shm[=true|false]
                                        as Triton's switches (dataplane sim --help)

        Environment variables DATAPLANE_<Section>__<Key> set the same keys.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        // A first argument that is not a switch names the verb; --help, -h and --version are verbs of their own.
        bool named = args.Length > 0 && (!args[0].StartsWith('-') || args[0] is "--help" or "-h" or "--version");
        string verb = named ? args[0] : "serve";
        string[] rest = named ? args[1..] : args;
        try
        {
            return verb switch
            {
                "serve" when rest.Contains("--help") || rest.Contains("-h") => Print(Usage),
                "serve" => await ServeAsync(rest).ConfigureAwait(false),
                "sim" => await SimAsync(rest).ConfigureAwait(false),
                "bench" => await BenchWithCtrlC(rest, BenchCommand.RunAsync).ConfigureAwait(false),
                "bench-agent" => await BenchWithCtrlC(rest, DataPlane.Bench.Agent.AgentBenchCommand.RunAsync).ConfigureAwait(false),
                "demo" => await Demo.RunAsync(rest, Console.Out).ConfigureAwait(false),
                "plan" => await BenchWithCtrlC(rest, PlanCommand.RunAsync).ConfigureAwait(false),
                "topo" => HostCommands.Topo(rest, Console.Out, Console.Error),
                "xfer-bench" => await BenchWithCtrlC(rest, DataPlane.Transfer.Bench.XferBench.RunAsync).ConfigureAwait(false),
                "tune" => HostCommands.Tune(rest, Console.Out, Console.Error),
                "version" or "--version" => Print($"dataplane {ServerIdentity.Version}"),
                "help" or "--help" or "-h" => Print(Usage),
                _ => Fail($"dataplane: unknown verb '{(verb.Length <= 64 ? verb : verb[..64] + "…")}' (dataplane --help lists them)"),
            };
        }
        catch (ConfigurationException e)
        {
            // One line per mistake, naming the key, switch or file; never a stack trace.
            e.WriteTo(Console.Error, "dataplane: ");
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

    /// <summary>What <c>dataplane sim --help</c> prints: the simulated Triton's switches.</summary>
    public const string SimUsage = SimulationCommandLine.Usage;

    private static async Task<int> SimAsync(string[] args)
    {
        var line = SimulationCommandLine.Parse(args);
        if (line.Help)
        {
            return Print(SimUsage);
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
