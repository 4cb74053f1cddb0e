using DataPlane.Bench;
using DataPlane.CommandLine;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Cli;

/// <summary>`dataplane demo`: the daemon with embedded defaults in front of the simulated Triton
/// (model `simple`: base 5 ms + 0.2 ms per row, max batch 32, one instance), an open-loop load
/// sweep through it, the batcher's view of the run, then a graceful stop.</summary>
internal static class Demo
{
    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "demo", "the daemon with embedded defaults in front of the simulated Triton, and an open-loop load sweep through it")
    {
        Options =
        [
            CommandOption.Value("--rates", "LIST", "request rates of the sweep, req/s (default 20,200,1000,2000)"),
            CommandOption.Value("--duration", "SECONDS", "seconds per rate (default 3)"),
        ],
    };

    /// <summary>What <c>dataplane demo --help</c> prints.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var line = CommandParser.Parse(Spec, args);
        if (line.HelpRequested)
        {
            await output.WriteLineAsync(Usage).ConfigureAwait(false);
            return 0;
        }

        if (line.Error is { } problem)
        {
            await error.WriteLineAsync(Spec.FormatError(problem)).ConfigureAwait(false);
            return CommandLineApp.ExitUsage;
        }

        string rates = line.Value("--rates") ?? "20,200,1000,2000";
        string seconds = line.Value("--duration") ?? "3";
        var configuration = DaemonConfiguration.Build(
        [
            "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:DataPlane=Warning",
        ]);
        var options = DaemonConfiguration.Bind(configuration);
        await using var daemon = await Daemon.StartAsync(options, configuration).ConfigureAwait(false);
        await output.WriteLineAsync($"""
            DataPlane demo
              daemon gRPC  {daemon.GrpcAddress}   admin {daemon.AdminAddress}
              upstream     simulated Triton at {daemon.SimulatorAddress} (a simulation; model 'simple': 5 ms + 0.2 ms/row, max batch 32)
              policy       {options.Batching.Defaults.Policy.ToString().ToLowerInvariant()} (window {options.Batching.Defaults.MinWindow.TotalMilliseconds}-{options.Batching.Defaults.MaxWindow.TotalMilliseconds} ms)
              load         open-loop Poisson, rates {rates} req/s, {seconds} s each

            """).ConfigureAwait(false);

        int code = await BenchCommand.RunAsync(
            ["--target", daemon.GrpcAddress.ToString(), "--model", "simple", "--sweep", rates, "--duration", seconds,
             "--warmup", "1", "--slo-ms", "50", "--label", "adaptive"],
            output, error, CancellationToken.None).ConfigureAwait(false);

        if (daemon.Registry.TryGet("simple", out var batcher))
        {
            var s = batcher.Snapshot();
            await output.WriteLineAsync($"""

                Batcher view of model 'simple': fitted upstream latency {s.LatencyInterceptMs:0.00} ms + {s.LatencyPerRowMs:0.000} ms/row, last arrival rate {s.ArrivalRowsPerSecond:0} rows/s
                Metrics: {daemon.AdminAddress}metrics (stopped with the demo); run `dataplane serve` to keep a daemon up.
                """).ConfigureAwait(false);
        }

        return code;
    }
}
