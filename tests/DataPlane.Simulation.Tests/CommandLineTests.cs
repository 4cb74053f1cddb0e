using DataPlane.Simulation.Cli;

namespace DataPlane.Simulation.Tests;

/// <summary>The switches of <c>dataplane sim</c>.</summary>
public class CommandLineTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_asks_for_the_usage_and_nothing_else(string help)
    {
        var line = SimulationCommandLine.Parse(["--listen", "127.0.0.1:9", help, "--bogus"]);

        Assert.True(line.Help);
        Assert.Null(line.Error);
        Assert.Empty(line.Arguments);
        foreach (var flag in new[] { "--listen", "--config", "--model-control", "--load-model", "--allow-client-shm", "--help" })
        {
            Assert.Contains(flag, SimulationCommandLine.Usage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tritons_switches_become_simulation_settings()
    {
        var line = SimulationCommandLine.Parse([
            "--listen", "127.0.0.1:8001", "--config=sim.json", "--model-control", "explicit",
            "--load-model", "simple", "--load-model=llm", "--allow-client-shm", "--Simulation:ServerVersion=2.71.0",
        ]);

        Assert.False(line.Help);
        Assert.Null(line.Error);
        Assert.Equal(
            [
                "--listen", "127.0.0.1:8001", "--config", "sim.json", "--Simulation:ModelControl=explicit",
                "--Simulation:LoadModels:0=simple", "--Simulation:LoadModels:1=llm", "--Simulation:AllowClientShm=true",
                "--Simulation:ServerVersion=2.71.0",
            ],
            line.Arguments);
        Assert.Equal(["--Simulation:AllowClientShm=false"], SimulationCommandLine.Parse(["--allow-client-shm=false"]).Arguments);
        Assert.Equal(["--Simulation:AllowClientShm=false"], SimulationCommandLine.Parse(["--allow-client-shm", "false"]).Arguments);
    }

    [Theory]
    [InlineData("--bogus", "dataplane sim: unknown option '--bogus' (see 'dataplane sim --help')")]
    [InlineData("--model-control-mode=explicit", "dataplane sim: unknown option '--model-control-mode' (see 'dataplane sim --help')")]
    [InlineData("stray", "dataplane sim: unexpected argument 'stray' (see 'dataplane sim --help')")]
    [InlineData("--allow-client-shm=maybe", "dataplane sim: option --allow-client-shm takes true or false, not 'maybe' (see 'dataplane sim --help')")]
    [InlineData("--load-model", "dataplane sim: option --load-model needs a value (NAME) (see 'dataplane sim --help')")]
    public void An_unknown_or_malformed_switch_is_one_line_naming_it(string arg, string error)
    {
        var line = SimulationCommandLine.Parse(["--listen", "127.0.0.1:9", arg]);

        Assert.False(line.Help);
        Assert.Equal(error, line.Error);
        Assert.DoesNotContain('\n', line.Error!);
    }
}
