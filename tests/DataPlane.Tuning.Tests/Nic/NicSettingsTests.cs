using DataPlane.Tuning.Nic;

namespace DataPlane.Tuning.Tests.Nic;

public class NicSettingsTests
{
    [Fact]
    public void Latency_defaults_are_the_documented_profile()
    {
        NicSettings s = NicSettings.LatencyDefaults;
        Assert.Equal(
            ["adaptive-rx=off", "adaptive-tx=off", "rx-usecs=8", "rx-frames=32", "tx-usecs=8", "tx-frames=8"],
            s.Coalesce.Select(p => $"{p.Key}={p.Value}"));
        Assert.Equal(["rx=max", "tx=max"], s.Ring.Select(p => $"{p.Key}={p.Value}"));
        Assert.Equal(["rx-gro=on", "rx-lro=off", "tx-nocache-copy=off"], s.Features.Select(p => $"{p.Key}={p.Value}"));
    }

    [Fact]
    public void Values_are_normalised_and_order_is_kept()
    {
        var s = new NicSettings(coalesce: [new("tx-usecs", " 16 "), new("adaptive-rx", "ON")], ring: [new("tx", "MAX")]);
        Assert.Equal(["tx-usecs=16", "adaptive-rx=on"], s.Coalesce.Select(p => $"{p.Key}={p.Value}"));
        Assert.Equal("max", s.Ring[0].Value);
    }

    [Fact]
    public void Every_problem_is_listed_in_one_error()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new NicSettings(
            coalesce: [new("rx-usec", "8"), new("adaptive-tx", "1"), new("rx-frames", "-1"), new("tx-usecs", "1"), new("tx-usecs", "2")],
            ring: [new("rx", "0"), new("big", "max")],
            features: [new("rx-gro", "yes"), new("", "on")]));

        foreach (string part in new[] { "'rx-usec'", "'adaptive-tx' must be on or off", "'rx-frames'", "'tx-usecs' is given twice", "ring 'rx'", "'big'", "feature 'rx-gro'", "'' is not a kernel feature name" })
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }
}
