using DataPlane.Edge.Gpu;
using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent.Tests;

/// <summary><c>Gpu:Balancing:*</c>: defaults, values read, and bad values named by key.</summary>
public class GpuBalancingConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build();

    [Fact]
    public void Defaults_are_load_aware_and_values_are_read()
    {
        Assert.Equal(BalancingPolicy.LoadAware, AgentOptions.Bind(Config()).Gpu.Balancing.Policy);
        var b = AgentOptions.Bind(Config(("Gpu:Balancing:Policy", "round-robin"), ("Gpu:Balancing:ConsecutiveFailures", "3"),
            ("Gpu:Balancing:BaseEjectionSeconds", "2"), ("Gpu:Balancing:MaxEjectionSeconds", "60"), ("Gpu:Balancing:ProbeIntervalMs", "250"))).Gpu.Balancing;
        Assert.Equal(BalancingPolicy.RoundRobin, b.Policy);
        Assert.Equal(3, b.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(2), b.BaseEjectionTime);
        Assert.Equal(TimeSpan.FromSeconds(60), b.MaxEjectionTime);
        Assert.Equal(TimeSpan.FromMilliseconds(250), b.ProbeInterval);
    }

    [Fact]
    public void Bad_values_are_named_by_key()
    {
        var errors = Assert.Throws<ConfigurationException>(() => AgentOptions.Bind(Config(
            ("Gpu:Balancing:Policy", "random"), ("Gpu:Balancing:OutlierFactor", "0.5"), ("Gpu:Balancing:MaxEjectedPercent", "150"),
            ("Gpu:Balancing:BaseEjectionSeconds", "30"), ("Gpu:Balancing:MaxEjectionSeconds", "10"), ("Gpu:Balancing:Polcy", "x")))).Errors;
        Assert.Contains(errors, e => e.StartsWith("Gpu:Balancing:Policy: 'random' is not load-aware or round-robin", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gpu:Balancing:OutlierFactor:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gpu:Balancing:MaxEjectedPercent:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gpu:Balancing:MaxEjectionSeconds: 10 s is shorter than BaseEjectionSeconds", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gpu:Balancing:Polcy: unknown setting", StringComparison.Ordinal));
    }
}
