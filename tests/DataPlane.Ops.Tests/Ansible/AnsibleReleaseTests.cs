using System.Text.Json;
using System.Text.RegularExpressions;
using DataPlane.Ops.Tests.Install;

namespace DataPlane.Ops.Tests.Ansible;

/// <summary>The roles installing from a signed release (dataplane_release_dir, dataplane_release_pubkeys):
/// ansible-playbook against localhost into a scratch root, with the real minisign on the controller.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(ReleaseCollection.Name)]
public sealed partial class AnsibleReleaseTests(ReleaseFixture release) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-ansible-release-").FullName;
    private readonly string _playbookDir = Path.Combine(RepoFiles.Root, "scripts/ansible");

    private string Root => Path.Combine(_dir, "root");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ScriptResult Play(string role, string releaseDir, IEnumerable<string> pubkeys, params string[] extra)
    {
        string hosts = role == "gpu-host" ? "dataplane_gpu_hosts=localhost" : "dataplane_pi_hosts=localhost";
        var vars = new Dictionary<string, object>
        {
            ["dataplane_manage_service"] = false,
            ["dataplane_become"] = false,
            ["dataplane_root"] = Root,
            ["dataplane_release_dir"] = releaseDir,
            ["dataplane_release_pubkeys"] = pubkeys.ToArray(),
            // The x64 agent: this test machine can run what it installs, and the bytes are compared either way.
            ["dataplane_agent_release_arch"] = "x64",
        };
        string json = "{" + string.Join(", ", vars.Select(v => JsonString(v.Key) + ": " + v.Value switch
        {
            bool b => b ? "true" : "false",
            string[] a => "[" + string.Join(", ", a.Select(JsonString)) + "]",
            var o => JsonString((string)o),
        })) + "}";
        return ScriptRun.Run("ansible-playbook", ["-i", "localhost,", "-c", "local", "site.yml", "-e", hosts, "-e", json, .. extra], _playbookDir);
    }

    private static string JsonString(string s) => "\"" + JsonEncodedText.Encode(s) + "\"";

    private static (int Changed, int Failed) Recap(ScriptResult r)
    {
        var m = RecapLine().Match(r.Stdout);
        Assert.True(m.Success, "no PLAY RECAP for localhost:\n" + r.Output);
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    [GeneratedRegex(@"^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", RegexOptions.Multiline)]
    private static partial Regex RecapLine();

    /// <summary>No staged copy of a release is left on the controller after a run.</summary>
    private static string[] Stages() => Directory.GetDirectories(Path.GetTempPath(), "dataplane-release.*");

    [Theory]
    [InlineData("gpu-host")]
    [InlineData("pi-edge")]
    public void The_role_verifies_and_installs_the_release_and_a_second_run_reports_no_change(string role)
    {
        var before = Stages();
        var first = Play(role, release.Release, [release.KeyA.Public]);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Equal(0, Recap(first).Failed);

        string name = role == "gpu-host" ? "dataplane" : "dataplane-agent";
        string published = role == "gpu-host" ? Binaries.Dataplane : Binaries.Agent;
        Assert.Equal(File.ReadAllBytes(published), File.ReadAllBytes(Path.Combine(Root, "usr/local/bin", name)));
        Assert.Equal("755", ScriptRun.Mode(Path.Combine(Root, "usr/local/bin", name)));
        Assert.Equal(File.ReadAllText(Path.Combine(release.Release, "scripts/systemd", name + ".service")),
            File.ReadAllText(Path.Combine(Root, "etc/systemd/system", name + ".service")));

        var second = Play(role, release.Release, [release.KeyA.Public]);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(0, Recap(second).Changed);
        Assert.Equal(before, Stages());
    }

    [Fact]
    public void A_release_with_one_byte_changed_in_the_binary_is_refused_before_anything_is_installed()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        string binary = Path.Combine(copy, "bin/linux-x64/dataplane");
        byte[] bytes = File.ReadAllBytes(binary);
        bytes[bytes.Length / 3] ^= 0x20;
        ReleaseFixture.Rewrite(binary, bytes);

        var before = Stages();
        var r = Play("gpu-host", copy, [release.KeyA.Public]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Equal(1, Recap(r).Failed);
        Assert.Contains("dataplane_gpu_host: refused, nothing installed: bin/linux-x64/dataplane does not match SHA256SUMS", r.Stdout);
        Assert.False(Directory.Exists(Root), "the role installed something from a tampered release");
        Assert.Equal(before, Stages());
    }

    [Fact]
    public void A_release_signed_with_another_key_is_refused_even_in_check_mode()
    {
        var r = Play("pi-edge", release.Release, [release.KeyB.Public], "--check");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("which is not a trusted key", r.Stdout);
        Assert.False(Directory.Exists(Root));
    }

    [Fact]
    public void A_release_without_its_signature_is_refused()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        File.Delete(Path.Combine(copy, "SHA256SUMS.minisig"));
        var r = Play("pi-edge", copy, [release.KeyA.Public]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("the release is not signed", r.Stdout);
        Assert.False(Directory.Exists(Root));
    }

    [Fact]
    public void Two_trusted_key_files_accept_a_release_signed_with_the_new_key()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        File.Delete(Path.Combine(copy, "SHA256SUMS.minisig"));
        ReleaseFixture.Sign(Path.Combine(copy, "SHA256SUMS"), release.KeyB);

        var r = Play("gpu-host", copy, [release.KeyA.Public, release.KeyB.Public]);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.True(File.Exists(Path.Combine(Root, "usr/local/bin/dataplane")));
    }

    [Fact]
    public void A_release_directory_without_trusted_keys_is_refused_by_the_variable_check()
    {
        var r = Play("gpu-host", release.Release, []);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("dataplane_release_dir needs dataplane_release_pubkeys", r.Output);
        Assert.False(Directory.Exists(Root));
    }
}
