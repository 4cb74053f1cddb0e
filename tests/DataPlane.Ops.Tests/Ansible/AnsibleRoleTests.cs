using System.Text.Json;
using System.Text.RegularExpressions;
using DataPlane.Ops.Tests.Install;

namespace DataPlane.Ops.Tests.Ansible;

/// <summary>The roles in scripts/ansible run by ansible-playbook against localhost over a local
/// connection, installing into a scratch root with service management off.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class AnsibleRoleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-ansible-").FullName;
    private readonly string _playbookDir = Path.Combine(RepoFiles.Root, "scripts/ansible");
    private readonly string _root;
    private readonly string _binary;

    public AnsibleRoleTests()
    {
        _root = Path.Combine(_dir, "root");
        _binary = Path.Combine(_dir, "bin");
        File.WriteAllText(_binary, "#!/bin/sh\necho stand-in\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ScriptResult Play(string role, params string[] extra)
    {
        string hosts = role == "gpu-host" ? "dataplane_gpu_hosts=localhost" : "dataplane_pi_hosts=localhost";
        string binary = role == "gpu-host" ? "dataplane_binary_src=" : "dataplane_agent_binary_src=";
        return ScriptRun.Run("ansible-playbook",
            ["-i", "localhost,", "-c", "local", "site.yml", "-e", hosts, "-e", "dataplane_root=" + _root,
             "-e", """{"dataplane_manage_service": false, "dataplane_become": false}""", "-e", binary + _binary, .. extra],
            _playbookDir);
    }

    /// <summary>The counters of the PLAY RECAP line for localhost.</summary>
    private static (int Ok, int Changed, int Failed) Recap(ScriptResult r)
    {
        var m = RecapLine().Match(r.Stdout);
        Assert.True(m.Success, "no PLAY RECAP for localhost:\n" + r.Output);
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
    }

    [GeneratedRegex(@"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", RegexOptions.Multiline)]
    private static partial Regex RecapLine();

    private static (string Binary, string Config, string Sysctl) Names(string role) => role == "gpu-host"
        ? ("dataplane", "dataplane.json", "90-dataplane-gpu-host.conf")
        : ("dataplane-agent", "dataplane-agent.json", "90-dataplane-pi-edge.conf");

    [Fact]
    public void The_playbook_and_the_example_inventory_pass_the_syntax_check()
    {
        var r = ScriptRun.Run("ansible-playbook", ["-i", "inventory.example.ini", "site.yml", "--syntax-check"], _playbookDir);
        Assert.True(r.ExitCode == 0, r.Output);
    }

    [Theory]
    [InlineData("gpu-host")]
    [InlineData("pi-edge")]
    public void The_role_installs_everything_and_a_second_run_reports_no_change(string role)
    {
        var first = Play(role);
        Assert.True(first.ExitCode == 0, first.Output);
        var (_, changed, failed) = Recap(first);
        Assert.Equal(0, failed);
        Assert.True(changed > 0, first.Output);

        var (binary, config, sysctl) = Names(role);
        Assert.Equal("755", ScriptRun.Mode(Path.Combine(_root, "usr/local/bin", binary)));
        Assert.Equal("644", ScriptRun.Mode(Path.Combine(_root, "etc/systemd/system", binary + ".service")));
        Assert.Equal("700", ScriptRun.Mode(Path.Combine(_root, "etc/dataplane/tls")));
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "sysctl", sysctl)),
            File.ReadAllText(Path.Combine(_root, "etc/sysctl.d", sysctl)));
        Assert.Contains($"ExecStart=/usr/local/bin/{binary} serve --config /etc/dataplane/{config}",
            File.ReadAllText(Path.Combine(_root, "etc/systemd/system", binary + ".service")));

        // With the defaults the template renders the shipped configuration, key for key.
        using var rendered = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "etc/dataplane", config)));
        using var shipped = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoFiles.Root, "config", config)));
        Assert.True(JsonElement.DeepEquals(shipped.RootElement, rendered.RootElement),
            $"rendered {config} differs from config/{config}:\n{rendered.RootElement}");

        var second = Play(role);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(0, Recap(second).Changed);
    }

    [Theory]
    [InlineData("gpu-host")]
    [InlineData("pi-edge")]
    public void Check_mode_reports_changes_and_writes_nothing(string role)
    {
        var dry = Play(role, "--check", "--diff");
        Assert.True(dry.ExitCode == 0, dry.Output);
        Assert.True(Recap(dry).Changed > 0, dry.Output);
        Assert.False(Directory.Exists(_root), "check mode created the install root");

        // On an installed node: nothing to change; with a drifted configuration: reported, shown as a diff, left alone.
        Assert.Equal(0, Play(role).ExitCode);
        var clean = Play(role, "--check", "--diff");
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.Equal(0, Recap(clean).Changed);
        string config = Path.Combine(_root, "etc/dataplane", Names(role).Config);
        File.WriteAllText(config, "{}\n");
        var drift = Play(role, "--check", "--diff");
        Assert.True(drift.ExitCode == 0, drift.Output);
        Assert.Equal(1, Recap(drift).Changed);
        Assert.Contains("-{}", drift.Stdout);
        Assert.Equal("{}\n", File.ReadAllText(config));
    }

    [Fact]
    public void The_argument_spec_rejects_an_unknown_batching_policy()
    {
        var r = Play("gpu-host", "-e", "dataplane_batching_policy=quickest");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("dataplane_batching_policy", r.Output);
        Assert.False(File.Exists(Path.Combine(_root, "usr/local/bin/dataplane")));
    }

    [Fact]
    public void Managing_services_is_refused_for_a_root_other_than_slash()
    {
        var r = Play("pi-edge", "-e", """{"dataplane_manage_service": true}""");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("dataplane_manage_service=false", r.Output);
    }
}
