using System.Globalization;

namespace DataPlane.Simulation.Cli;

/// <summary>The switches of <c>dataplane sim</c>, read strictly: Triton's own switches (<c>--model-control</c>,
/// <c>--load-model</c>, <c>--allow-client-shm</c>) become <c>Simulation:</c> configuration keys, <c>--listen</c> and
/// <c>--config</c> pass through, and any <c>--Section:Key=value</c> is a configuration key. Anything else is an
/// error naming it, so a mistyped switch never goes unnoticed.</summary>
public sealed class SimulationCommandLine
{
    /// <summary>What <c>dataplane sim --help</c> prints.</summary>
    public const string Usage = """
        dataplane sim — the simulated Triton (a simulation, not a GPU backend): Triton 2.70.0's gRPC API with
        simulated models (simple, echo_<datatype>, llm, simple_sequence by default)

        Usage:
          dataplane sim [options]

        Options:
          --listen HOST:PORT              gRPC listener (default 127.0.0.1:8001, Triton's port)
          --config FILE                   JSON file with a Simulation section (models and the settings below)
          --model-control none|explicit   Triton's --model-control-mode: none (default) loads every model and refuses
                                          load/unload; explicit loads only the --load-model models and serves load/unload
          --load-model NAME               in explicit mode, a model to load at start (repeatable; '*' alone loads all)
          --allow-client-shm[=true|false] let clients register and unregister shared memory (default false)
          --Simulation:KEY=VALUE          any simulation setting: ServerVersion (default 2.70.0), ModelControl,
                                          LoadModels, AllowClientShm, TraceFile, SharedMemoryDirectory, Models:N:…,
                                          SlowdownFactor with SlowdownAfterSeconds / SlowdownForSeconds (LLM models
                                          that many times slower in that window after start, for benchmarks)
          -h, --help                      print this help and exit

        Environment variables DATAPLANE_<Section>__<Key> set the same keys.
        """;

    private SimulationCommandLine(bool help, string? error, string[] arguments)
    {
        Help = help;
        Error = error;
        Arguments = arguments;
    }

    /// <summary>The help was asked for: print <see cref="Usage"/>, start nothing, exit 0.</summary>
    public bool Help { get; }

    /// <summary>One line naming what is wrong (exit 2), or null.</summary>
    public string? Error { get; }

    /// <summary>The arguments for the configuration layers: <c>--listen</c>, <c>--config</c> and
    /// <c>--Key=value</c> pairs.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Reads the arguments that follow <c>dataplane sim</c>.</summary>
    public static SimulationCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var arguments = new List<string>();
        int loads = 0;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                return new SimulationCommandLine(true, null, []);
            }

            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            string name = equals < 0 ? arg : arg[..equals];
            string? inline = equals < 0 ? null : arg[(equals + 1)..];
            switch (name)
            {
                case "--listen" or "--config" or "--model-control" or "--load-model":
                    string? value = inline ?? (i + 1 < args.Count ? args[++i] : null);
                    if (value is null)
                    {
                        return Fail($"dataplane sim: {name} needs a value (dataplane sim --help)");
                    }

                    arguments.AddRange(name switch
                    {
                        "--model-control" => [$"--Simulation:ModelControl={value}"],
                        "--load-model" => [$"--Simulation:LoadModels:{(loads++).ToString(CultureInfo.InvariantCulture)}={value}"],
                        _ => [name, value],
                    });
                    break;
                case "--allow-client-shm":
                    string flag = inline ?? (i + 1 < args.Count && args[i + 1] is "true" or "false" ? args[++i] : "true");
                    if (!bool.TryParse(flag, out bool allow))
                    {
                        return Fail($"dataplane sim: --allow-client-shm takes true or false, not '{flag}'");
                    }

                    arguments.Add($"--Simulation:AllowClientShm={(allow ? "true" : "false")}");
                    break;
                case var key when key.StartsWith("--", StringComparison.Ordinal) && key.Contains(':', StringComparison.Ordinal):
                    string? setting = inline ?? (i + 1 < args.Count ? args[++i] : null);
                    if (setting is null)
                    {
                        return Fail($"dataplane sim: {name} needs a value (dataplane sim --help)");
                    }

                    arguments.Add($"{name}={setting}");
                    break;
                default:
                    return Fail(arg.StartsWith('-')
                        ? $"dataplane sim: unknown switch '{name}' (dataplane sim --help lists them)"
                        : $"dataplane sim: unexpected argument '{arg}' (dataplane sim --help lists the switches)");
            }
        }

        return new SimulationCommandLine(false, null, [.. arguments]);
    }

    private static SimulationCommandLine Fail(string error) => new(false, error, []);
}
