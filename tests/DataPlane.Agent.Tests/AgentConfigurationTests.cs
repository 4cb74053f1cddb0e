using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent.Tests;

/// <summary>The agent's configuration mistakes are one line each naming the key or switch.</summary>
public class AgentConfigurationTests
{
    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] values) =>
        Assert.Throws<ConfigurationException>(() => AgentOptions.Bind(
            new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build())).Errors;

    [Fact]
    public void Unknown_keys_are_reported_at_any_depth()
    {
        Assert.Equal(["Servng:SloMs: unknown setting (check its spelling and docs/CONFIGURATION.md)"], Errors(("Servng:SloMs", "500")));
        Assert.Equal(["Local:Simulation:TokensPerSec: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(("Local:Simulation:TokensPerSec", "8")));
        Assert.Equal(["Gpu:ModelMap:big-70b: expected a single value, not an object or a list"], Errors(("Gpu:ModelMap:big-70b:Name", "llm")));
        Assert.Equal(["Logging:LogLevel:Default: 'Verbose' is not a log level (Trace, Debug, Information, Warning, Error, Critical, None)"],
            Errors(("Logging:LogLevel:Default", "Verbose")));
        Assert.Equal(["Listen:Admin: 127.0.0.1:9090 overlaps Listen:Api (0.0.0.0:9090); each listener needs its own port"],
            Errors(("Listen:Api", "0.0.0.0:9090"), ("Listen:Admin", "127.0.0.1:9090")));

        var o = AgentOptions.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gpu:ModelMap:big-70b"] = "llm",
            ["Local:Simulation:TokensPerSecond"] = "8",
            ["Logging:LogLevel:DataPlane"] = "Debug",
        }).Build());
        Assert.Equal("llm", o.Gpu.ModelMap["big-70b"]);
    }

    [Fact]
    public void Command_line_mistakes_name_the_switch()
    {
        var e = Assert.Throws<ConfigurationException>(() => AgentOptions.Bind(AgentOptions.Build(["--api"])));
        Assert.Equal(["--api needs a value (it sets Listen:Api)"], e.Errors);
        e = Assert.Throws<ConfigurationException>(() => AgentOptions.Bind(AgentOptions.Build(["--frobnicate", "1"])));
        Assert.Equal(["unknown switch '--frobnicate' (--help lists the switches; any configuration key works as --Section:Key=value)",
            "unexpected argument '1' (--help lists the switches)"], e.Errors);
    }
}
