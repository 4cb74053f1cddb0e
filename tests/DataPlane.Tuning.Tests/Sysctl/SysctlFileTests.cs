using DataPlane.Testing;
using DataPlane.Tuning.Profiles;
using DataPlane.Tuning.Sysctl;

namespace DataPlane.Tuning.Tests.Sysctl;

public class SysctlFileTests
{
    [Fact]
    public void Comments_blanks_ignore_marks_and_repeated_keys_follow_sysctl_d()
    {
        var settings = SysctlFile.Parse("""
            # comment
            ; another comment

            net.core.somaxconn = 1024
            -net.core.busy_poll=50
            net.ipv4.tcp_rmem = 4096	131072   16777216
            net.core.somaxconn = 4096
            net/ipv4/conf/eth0.100/rp_filter = 2
            """, "test.conf");

        Assert.Equal(["net.core.busy_poll", "net.ipv4.tcp_rmem", "net.core.somaxconn", "net/ipv4/conf/eth0.100/rp_filter"], settings.Select(s => s.Key));
        Assert.Equal("4096", settings.Single(s => s.Key == "net.core.somaxconn").Value);
        Assert.True(settings.Single(s => s.Key == "net.core.busy_poll").IgnoreErrors);
        Assert.Equal("4096 131072 16777216", settings.Single(s => s.Key == "net.ipv4.tcp_rmem").Value);
        Assert.Equal("net/core/somaxconn", settings.Single(s => s.Key == "net.core.somaxconn").ProcPath);
        Assert.Equal("net/ipv4/conf/eth0.100/rp_filter", settings[^1].ProcPath);
    }

    [Theory]
    [InlineData("net.core.somaxconn 4096", "test.conf:2: expected 'key = value'")]
    [InlineData("net.core.* = 1", "globs are not supported")]
    [InlineData("net..core = 1", "is not a sysctl key")]
    public void Bad_lines_name_the_file_and_line(string line, string expected)
    {
        var e = Assert.Throws<FormatException>(() => SysctlFile.Parse("# first\n" + line, "test.conf"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_profiles_are_embedded_and_parse()
    {
        var gpu = TuningProfile.GpuHost.LoadSysctls();
        var pi = TuningProfile.PiEdge.LoadSysctls();
        string repo = RepoFiles.Root;

        Assert.Equal(SysctlFile.Parse(File.ReadAllText(Path.Combine(repo, "sysctl", "90-dataplane-gpu-host.conf")), "gpu"), gpu);
        Assert.Equal(SysctlFile.Parse(File.ReadAllText(Path.Combine(repo, "sysctl", "90-dataplane-pi-edge.conf")), "pi"), pi);
        Assert.Contains(gpu, s => s.Key == "net.core.rmem_max" && s.Value == "16777216");
        Assert.Contains(pi, s => s.Key == "net.ipv4.tcp_keepalive_time" && s.Value == "30");
        Assert.Equal("gpu-host", TuningProfile.Named("gpu-host").Name);
        var e = Assert.Throws<ArgumentException>(() => TuningProfile.Named("laptop"));
        Assert.Contains("gpu-host, pi-edge", e.Message, StringComparison.Ordinal);
    }
}
