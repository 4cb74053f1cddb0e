
namespace DataPlane.Ops.Tests.Install;

/// <summary>scripts/install.sh into a scratch prefix, with a stand-in binary and unit so that the
/// script, not the build, is under test.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InstallScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-install-").FullName;
    private readonly string _root;
    private readonly string _script = Path.Combine(RepoFiles.Root, "scripts/install.sh");

    public InstallScriptTests()
    {
        _root = Path.Combine(_dir, "root");
        File.WriteAllText(Path.Combine(_dir, "bin"), "#!/bin/sh\necho stand-in\n");
        File.SetUnixFileMode(Path.Combine(_dir, "bin"), (UnixFileMode)0x1ED); // 0755
        File.WriteAllText(Path.Combine(_dir, "unit"), "[Service]\nExecStart=/usr/local/bin/stand-in\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ScriptResult Install(string role, params string[] extra) =>
        ScriptRun.Run("bash", [_script, "--role", role, "--prefix", _root, "--binary", Path.Combine(_dir, "bin"),
            "--unit", Path.Combine(_dir, "unit"), "--no-systemctl", .. extra]);

    private static (string Binary, string Config, string Sysctl) Names(string role) => role == "gpu-host"
        ? ("dataplane", "dataplane.json", "90-dataplane-gpu-host.conf")
        : ("dataplane-agent", "dataplane-agent.json", "90-dataplane-pi-edge.conf");

    [Theory]
    [InlineData("gpu-host")]
    [InlineData("pi-edge")]
    public void Installs_every_file_with_its_mode_and_a_second_run_changes_nothing(string role)
    {
        var (binary, config, sysctl) = Names(role);
        var first = Install(role);
        Assert.True(first.ExitCode == 0, first.Output);

        string bin = Path.Combine(_root, "usr/local/bin", binary);
        string conf = Path.Combine(_root, "etc/dataplane", config);
        string unit = Path.Combine(_root, "etc/systemd/system", binary + ".service");
        string profile = Path.Combine(_root, "etc/sysctl.d", sysctl);
        Assert.Equal("755", ScriptRun.Mode(bin));
        Assert.Equal("644", ScriptRun.Mode(conf));
        Assert.Equal("644", ScriptRun.Mode(unit));
        Assert.Equal("644", ScriptRun.Mode(profile));
        Assert.Equal("700", ScriptRun.Mode(Path.Combine(_root, "etc/dataplane/tls")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "bin")), File.ReadAllBytes(bin));
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "config", config)), File.ReadAllText(conf));
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "sysctl", sysctl)), File.ReadAllText(profile));

        var stamp = File.GetLastWriteTimeUtc(bin);
        var second = Install(role);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains($"{role}: unchanged", second.Stdout);
        Assert.DoesNotContain("installed", second.Stdout);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(bin));
    }

    [Fact]
    public void A_file_with_a_wrong_mode_is_repaired()
    {
        Assert.Equal(0, Install("gpu-host").ExitCode);
        string bin = Path.Combine(_root, "usr/local/bin/dataplane");
        File.SetUnixFileMode(bin, (UnixFileMode)0x1A4); // 0644: not executable
        var again = Install("gpu-host");
        Assert.Contains($"installed {bin}", again.Stdout);
        Assert.Equal("755", ScriptRun.Mode(bin));
    }

    [Fact]
    public void An_operator_edited_configuration_is_kept_and_the_shipped_one_goes_beside_it()
    {
        Assert.Equal(0, Install("gpu-host").ExitCode);
        string conf = Path.Combine(_root, "etc/dataplane/dataplane.json");
        const string Edited = "{ \"Upstream\": { \"Address\": \"http://10.0.0.5:8001\" } }\n";
        File.WriteAllText(conf, Edited);

        var again = Install("gpu-host");
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Equal(Edited, File.ReadAllText(conf));
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "config/dataplane.json")), File.ReadAllText(conf + ".new"));
        Assert.Contains($"kept {conf}", again.Stdout);
        Assert.Contains(".json.new", again.Stdout);

        // Once the .new is in place a further run has nothing to do.
        Assert.Contains("gpu-host: unchanged", Install("gpu-host").Stdout);
    }

    [Fact]
    public void Uninstall_removes_what_it_installed_and_keeps_an_edited_configuration()
    {
        Assert.Equal(0, Install("gpu-host").ExitCode);
        Assert.Equal(0, Install("pi-edge").ExitCode);
        string agentConf = Path.Combine(_root, "etc/dataplane/dataplane-agent.json");
        File.AppendAllText(agentConf, " ");

        var gpu = ScriptRun.Run("bash", [_script, "--role", "gpu-host", "--prefix", _root, "--uninstall", "--no-systemctl"]);
        Assert.True(gpu.ExitCode == 0, gpu.Output);
        Assert.False(File.Exists(Path.Combine(_root, "usr/local/bin/dataplane")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/dataplane/dataplane.json")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/systemd/system/dataplane.service")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/sysctl.d/90-dataplane-gpu-host.conf")));
        // The other role is untouched.
        Assert.True(File.Exists(Path.Combine(_root, "usr/local/bin/dataplane-agent")));

        var pi = ScriptRun.Run("bash", [_script, "--role", "pi-edge", "--prefix", _root, "--uninstall", "--no-systemctl"]);
        Assert.True(pi.ExitCode == 0, pi.Output);
        Assert.False(File.Exists(Path.Combine(_root, "usr/local/bin/dataplane-agent")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/systemd/system/dataplane-agent.service")));
        Assert.True(File.Exists(agentConf));
        Assert.Contains($"kept {agentConf}", pi.Stdout);
    }

    [Theory]
    [InlineData(new[] { "--role", "gpu-hots" }, "unknown role 'gpu-hots'")]
    [InlineData(new string[0], "--role is required")]
    [InlineData(new[] { "--role", "gpu-host", "--prefix", "relative/root" }, "'relative/root' is not an absolute path")]
    [InlineData(new[] { "--role", "gpu-host", "--prefix", "/tmp/x", "--binary", "/nonexistent/dataplane" }, "'/nonexistent/dataplane' does not exist")]
    [InlineData(new[] { "--role", "pi-edge", "--frobnicate" }, "unknown argument '--frobnicate'")]
    [InlineData(new[] { "--role" }, "--role needs a value")]
    public void Bad_arguments_exit_2_with_a_message_naming_the_problem(string[] args, string message)
    {
        var r = ScriptRun.Run("bash", [_script, .. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(_root));
    }
}
