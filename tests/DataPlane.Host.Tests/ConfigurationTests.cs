using DataPlane.Batching.Options;
using DataPlane.Host.Configuration;
using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests;

public class ConfigurationTests
{
    private static DaemonOptions Bind(params (string Key, string Value)[] values) =>
        DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] values) =>
        Assert.Throws<ConfigurationException>(() => Bind(values)).Errors;

    [Fact]
    public void Defaults_need_no_configuration()
    {
        var o = Bind();
        Assert.Equal("0.0.0.0:9001", o.Grpc.EndPoint.ToString());
        Assert.Equal("127.0.0.1:9002", o.Admin.EndPoint.ToString());
        Assert.True(o.UsesEmbeddedSimulation);
        Assert.Equal(BatchPolicyKind.Adaptive, o.Batching.Defaults.Policy);
        Assert.Equal(TimeSpan.FromMilliseconds(1), o.Batching.Defaults.MinWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(5), o.Batching.Defaults.MaxWindow);
        Assert.Null(o.Grpc.Tls);
    }

    [Fact]
    public void Per_model_settings_start_from_the_defaults()
    {
        var o = Bind(("Batching:Defaults:Policy", "fixed"), ("Batching:Defaults:MaxQueueDelayMs", "2.5"),
            ("Batching:Models:resnet:MaxQueueSize", "16"), ("Batching:Models:bert:Policy", "NONE"),
            ("Batching:Defaults:PreferredBatchSizes", "4,8"));
        Assert.Equal(BatchPolicyKind.Fixed, o.Batching.For("resnet").Policy);
        Assert.Equal(16, o.Batching.For("resnet").MaxQueueSize);
        Assert.Equal(TimeSpan.FromMilliseconds(2.5), o.Batching.For("resnet").MaxQueueDelay);
        Assert.Equal(BatchPolicyKind.None, o.Batching.For("bert").Policy);
        Assert.Equal([4, 8], o.Batching.For("other").PreferredBatchSizes);
    }

    [Fact]
    public void Every_problem_is_reported_with_its_key()
    {
        var errors = Errors(
            ("Batching:Defaults:MaxWindowMs", "-3"),
            ("Batching:Defaults:Policy", "fastest"),
            ("Batching:Models:m:MinWindowMs", "9"),
            ("Batching:Models:m:DefaultPriorityLevel", "4"),
            ("Listen:Grpc", "nowhere"),
            ("Listen:Admin", "127.0.0.1:99999"),
            ("Upstream:Address", "ftp://triton"),
            ("Upstream:HealthIntervalMs", "soon"),
            ("Limits:MaxTensors", "0"),
            ("Batching:Defaults:MaxWindow", "5"));
        Assert.Contains("Batching:Defaults:MaxWindowMs: '-3' is not a number from 0 to 1000", errors);
        Assert.Contains("Batching:Defaults:Policy: 'fastest' is not one of adaptive, fixed, none", errors);
        Assert.Contains("Batching:Models:m:MinWindowMs: 9 ms is more than MaxWindowMs (5 ms)", errors);
        Assert.Contains("Batching:Models:m:DefaultPriorityLevel: 4 is more than PriorityLevels (2)", errors);
        Assert.Contains("Listen:Grpc: 'nowhere' is not host:port (e.g. 127.0.0.1:9001)", errors);
        Assert.Contains("Listen:Admin: port '99999' is not a number from 0 to 65535", errors);
        Assert.Contains(errors, e => e.StartsWith("Upstream:Address: 'ftp://triton' is not an http:// or https:// URL", StringComparison.Ordinal));
        Assert.Contains("Upstream:HealthIntervalMs: 'soon' is not a number from 10 to 600000", errors);
        Assert.Contains("Limits:MaxTensors: '0' is not a whole number from 1 to 4096", errors);
        Assert.Contains(errors, e => e.StartsWith("Batching:Defaults:MaxWindow: unknown setting", StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_settings_are_checked()
    {
        var errors = Errors(("Listen:Tls:ClientCa", "/nonexistent/ca.pem"));
        Assert.Contains("Listen:Tls:ClientCa: needs Certificate and Key as well: client certificates are verified over TLS", errors);
        errors = Errors(("Listen:Tls:Certificate", "/nonexistent/cert.pem"));
        Assert.Contains("Listen:Tls:Key: is required when TLS is configured", errors);
        Assert.Contains("Listen:Tls:Certificate: file '/nonexistent/cert.pem' does not exist", errors);
    }

    [Fact]
    public void Simulation_problems_name_the_key()
    {
        var errors = Errors(("Simulation:Models:0:Name", "m"), ("Simulation:Models:0:BaseLatencyMs", "-1"));
        Assert.Contains(errors, e => e.StartsWith("Simulation:", StringComparison.Ordinal) && e.Contains("BaseLatencyMs", StringComparison.Ordinal));
    }

    [Fact]
    public void Command_line_switches_map_to_keys()
    {
        var config = DaemonConfiguration.Build(["--upstream", "http://10.0.0.5:8001", "--policy", "none", "--grpc", "127.0.0.1:7001", "--Batching:Defaults:SloMs=25"]);
        var o = DaemonConfiguration.Bind(config);
        Assert.Equal("http://10.0.0.5:8001", o.Upstream.Address);
        Assert.Equal(BatchPolicyKind.None, o.Batching.Defaults.Policy);
        Assert.Equal(7001, o.Grpc.EndPoint.Port);
        Assert.Equal(TimeSpan.FromMilliseconds(25), o.Batching.Defaults.Slo);
        Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Build(["--config", "/nonexistent.json"]));
    }
}
