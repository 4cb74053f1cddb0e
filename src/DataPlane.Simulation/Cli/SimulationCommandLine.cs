using System.Globalization;
using DataPlane.CommandLine;

namespace DataPlane.Simulation.Cli;

/// <summary>The switches of <c>dataplane sim</c>, read strictly: Triton's own switches (<c>--model-control</c>,
/// <c>--load-model</c>, <c>--allow-client-shm</c>) become <c>Simulation:</c> configuration keys, <c>--listen</c> and
/// <c>--config</c> pass through, and any <c>--Section:Key=value</c> is a configuration key. Anything else is an
/// error naming it, so a mistyped switch never goes unnoticed.</summary>
public sealed class SimulationCommandLine
{
    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "sim", "the simulated Triton as its own process")
    {
        Description = """
            The simulated Triton (a simulation, not a GPU backend): Triton 2.70.0's gRPC API with simulated models
            (simple, echo_<datatype>, llm, simple_sequence by default).
            """,
        Options =
        [
            CommandOption.Value("--listen", "HOST:PORT", "gRPC listener (default 127.0.0.1:8001, Triton's port)"),
            CommandOption.Value("--config", "FILE", "JSON file with a Simulation section (models and the settings below)"),
            CommandOption.Value("--model-control", "none|explicit", "Triton's --model-control-mode: none (default) loads every model and refuses\n" +
                "load/unload; explicit loads only the --load-model models and serves load/unload"),
            CommandOption.Value("--load-model", "NAME", "in explicit mode, a model to load at start (repeatable; '*' alone loads all)") with { Repeatable = true },
            new CommandOption("--allow-client-shm", "let clients register and unregister shared memory (default false)") { Arity = OptionArity.OptionalBoolean },
        ],
        AcceptsConfigurationKeys = true,
        Epilogue = """
            --Simulation:KEY=VALUE sets any simulation setting: ServerVersion (default 2.70.0), ModelControl, LoadModels,
            AllowClientShm, TraceFile, SharedMemoryDirectory, Models:N:…, SlowdownFactor with SlowdownAfterSeconds /
            SlowdownForSeconds (LLM models that many times slower in that window after start, for benchmarks).
            Environment variables DATAPLANE_<Section>__<Key> set the same keys.
            """,
    };

    /// <summary>What <c>dataplane sim --help</c> prints.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

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
        var line = CommandParser.Parse(Spec, args);
        if (line.HelpRequested)
        {
            return new SimulationCommandLine(true, null, []);
        }

        if (line.Error is { } error)
        {
            return Fail(Spec.FormatError(error));
        }

        var arguments = new List<string>();
        int loads = 0;
        foreach (var (option, value) in line.Given)
        {
            arguments.AddRange(option.Name switch
            {
                "--model-control" => [$"--Simulation:ModelControl={value}"],
                "--load-model" => [$"--Simulation:LoadModels:{(loads++).ToString(CultureInfo.InvariantCulture)}={value}"],
                "--allow-client-shm" => [$"--Simulation:AllowClientShm={value}"],
                "--listen" or "--config" => [option.Name, value!],
                _ => [value!],
            });
        }

        return new SimulationCommandLine(false, null, [.. arguments]);
    }

    private static SimulationCommandLine Fail(string error) => new(false, error, []);
}
