using System.Globalization;
using System.Text.RegularExpressions;
using DataPlane.Hosting.Listeners;
using DataPlane.Interop.Resources;

namespace DataPlane.Ops.Tests.Systemd;

/// <summary>Both units set LimitNOFILE, and the connection caps the processes derive from it fit within it and are the
/// ones the unit's comment states (so neither can change without the other). systemd-analyze verify of the units is
/// in <see cref="UnitFileTests"/>.</summary>
public partial class DescriptorLimitUnitTests
{
    private static string Unit(string name) => File.ReadAllText(Path.Combine(RepoFiles.Root, "scripts", "systemd", name + ".service"));

    [Theory]
    [InlineData("dataplane", 65_536)]
    [InlineData("dataplane-agent", 4_096)]
    public void The_unit_s_limit_gives_the_caps_its_comment_states(string name, long expected)
    {
        string unit = Unit(name);
        var limits = LimitNofile().Matches(unit);
        Assert.Single(limits);
        long limit = long.Parse(limits[0].Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(expected, limit);

        var budget = name == "dataplane" ? ConnectionBudget.Daemon : ConnectionBudget.Agent;
        var caps = ConnectionLimits.Create(budget, new ConnectionLimitOptions(), new DescriptorLimit(limit, limit));
        Assert.False(caps.Overcommitted, $"{caps.Describe()} + {caps.Headroom} exceed LimitNOFILE={limit}");

        // The comment above LimitNOFILE= names the headroom and each cap.
        string comment = string.Join(' ', unit.Split('\n').Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#', ' ')));
        Assert.Contains($"{caps.Headroom} kept for files", comment);
        foreach (var (listener, label) in Labels(name))
        {
            Assert.Contains($"{label} {caps[listener].Limit}", comment);
        }
    }

    private static (string Listener, string Label)[] Labels(string name) => name == "dataplane"
        ? [("admin", "admin"), ("grpc", "gRPC"), ("http", "HTTP"), ("transfer", "transfer listener")]
        : [("admin", "admin"), ("api", "API")];

    [GeneratedRegex(@"^LimitNOFILE=(\d+)$", RegexOptions.Multiline)]
    private static partial Regex LimitNofile();
}
