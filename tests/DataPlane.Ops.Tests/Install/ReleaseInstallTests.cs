using System.Text;
using System.Text.Json;

namespace DataPlane.Ops.Tests.Install;

/// <summary>scripts/install.sh --from a release written by scripts/release.sh, with the real minisign and
/// sha256sum: a good release installs; a tampered, unsigned or wrongly signed one is refused with one line
/// and exit 3, and nothing is installed.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(ReleaseCollection.Name)]
public sealed class ReleaseInstallTests(ReleaseFixture release) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-release-install-").FullName;
    private readonly string _script = Path.Combine(RepoFiles.Root, "scripts/install.sh");

    private string Root => Path.Combine(_dir, "root");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ScriptResult Install(string role, string from, params string[] extra) =>
        ScriptRun.Run("bash", [_script, "--role", role, "--prefix", Root, "--from", from, .. extra]);

    private ScriptResult InstallTrusting(string from, MinisignKey key, params string[] extra) =>
        Install("gpu-host", from, ["--pubkey", key.Public, "--no-service", .. extra]);

    /// <summary>Exit 3, one line on stderr that says why, and not a file under the install root.</summary>
    private void AssertRefused(ScriptResult r, string reason)
    {
        Assert.True(r.ExitCode == 3, $"expected exit 3, got {r.ExitCode}:\n{r.Output}");
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr:\n" + r.Stderr);
        Assert.StartsWith("install: refused, nothing installed: ", lines[0]);
        Assert.Contains(reason, lines[0]);
        Assert.False(Directory.Exists(Root), "something was installed:\n" + r.Output);
    }

    [Theory]
    [InlineData("gpu-host", "x64")]
    [InlineData("pi-edge", "x64")]
    [InlineData("pi-edge", "arm64")]
    public void A_signed_release_verifies_and_installs_and_a_second_run_changes_nothing(string role, string arch)
    {
        var first = Install(role, release.Release, "--pubkey", release.KeyA.Public, "--arch", arch, "--no-service");
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("verified 4 files against SHA256SUMS signed with key", first.Stdout);

        string name = role == "gpu-host" ? "dataplane" : "dataplane-agent";
        string published = (role, arch) switch
        {
            ("gpu-host", _) => Binaries.Dataplane,
            (_, "x64") => Binaries.Agent,
            _ => Binaries.AgentArm64,
        };
        string bin = Path.Combine(Root, "usr/local/bin", name);
        Assert.Equal(File.ReadAllBytes(published), File.ReadAllBytes(bin));
        Assert.Equal("755", ScriptRun.Mode(bin));
        string unit = Path.Combine(Root, "etc/systemd/system", name + ".service");
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "scripts/systemd", name + ".service")), File.ReadAllText(unit));
        Assert.Equal(File.ReadAllText(Path.Combine(RepoFiles.Root, "config", name + ".json")),
            File.ReadAllText(Path.Combine(Root, "etc/dataplane", name + ".json")));
        Assert.Equal("700", ScriptRun.Mode(Path.Combine(Root, "etc/dataplane/tls")));

        var second = Install(role, release.Release, "--pubkey", release.KeyA.Public, "--arch", arch, "--no-service");
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains($"{role}: unchanged", second.Stdout);
    }

    [Fact]
    public void One_byte_changed_in_the_binary_is_refused()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        string binary = Path.Combine(copy, "bin/linux-x64/dataplane");
        byte[] bytes = File.ReadAllBytes(binary);
        bytes[bytes.Length / 2] ^= 0x01;
        ReleaseFixture.Rewrite(binary, bytes);

        AssertRefused(InstallTrusting(copy, release.KeyA), "bin/linux-x64/dataplane does not match SHA256SUMS");
    }

    [Fact]
    public void A_changed_unit_is_refused_like_a_binary()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        string unit = Path.Combine(copy, "scripts/systemd/dataplane.service");
        ReleaseFixture.Rewrite(unit, Encoding.UTF8.GetBytes(File.ReadAllText(unit).Replace("NoNewPrivileges=yes", "NoNewPrivileges=no")));

        AssertRefused(InstallTrusting(copy, release.KeyA), "scripts/systemd/dataplane.service does not match SHA256SUMS");
    }

    [Fact]
    public void A_sha256sums_edited_to_match_a_changed_binary_but_not_signed_again_is_refused()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        string binary = Path.Combine(copy, "bin/linux-x64/dataplane");
        byte[] bytes = File.ReadAllBytes(binary);
        bytes[^1] ^= 0x80;
        ReleaseFixture.Rewrite(binary, bytes);
        // The attacker's SHA256SUMS lists the altered binary's digest: only the signature can tell.
        string sums = Path.Combine(copy, "SHA256SUMS");
        string digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        string[] lines = File.ReadAllLines(sums)
            .Select(l => l.EndsWith("  bin/linux-x64/dataplane", StringComparison.Ordinal) ? digest + "  bin/linux-x64/dataplane" : l)
            .ToArray();
        Assert.Contains(digest + "  bin/linux-x64/dataplane", lines);
        ReleaseFixture.Rewrite(sums, Encoding.ASCII.GetBytes(string.Join('\n', lines) + "\n"));

        AssertRefused(InstallTrusting(copy, release.KeyA), "the signature of SHA256SUMS does not verify");
    }

    [Fact]
    public void A_release_without_its_signature_is_refused()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        File.Delete(Path.Combine(copy, "SHA256SUMS.minisig"));

        AssertRefused(InstallTrusting(copy, release.KeyA), "SHA256SUMS.minisig is missing: the release is not signed");
    }

    [Fact]
    public void A_release_signed_with_another_key_is_refused()
    {
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        File.Delete(Path.Combine(copy, "SHA256SUMS.minisig"));
        ReleaseFixture.Sign(Path.Combine(copy, "SHA256SUMS"), release.KeyB);

        var r = InstallTrusting(copy, release.KeyA);
        AssertRefused(r, "which is not a trusted key");
        Assert.Contains(KeyId(release.KeyB), r.Stderr);
        Assert.Contains(KeyId(release.KeyA), r.Stderr);
    }

    [Fact]
    public void Trusting_the_old_and_the_new_key_accepts_a_release_signed_with_either()
    {
        // Rotation: releases are now signed with B; nodes trust A and B, in one file or with --pubkey twice.
        string copy = release.CopyRelease(Path.Combine(_dir, "release"));
        File.Delete(Path.Combine(copy, "SHA256SUMS.minisig"));
        ReleaseFixture.Sign(Path.Combine(copy, "SHA256SUMS"), release.KeyB);

        string both = Path.Combine(_dir, "trusted.pub");
        File.WriteAllText(both, "# old key, retired after every node has the new one\n" + File.ReadAllText(release.KeyA.Public) +
            "\n# new key\n" + release.KeyB.PublicBase64 + "\n");

        var fromFile = Install("gpu-host", copy, "--pubkey", both, "--no-service");
        Assert.True(fromFile.ExitCode == 0, fromFile.Output);
        Assert.Contains($"signed with key {KeyId(release.KeyB)}", fromFile.Stdout);

        Directory.Delete(Root, recursive: true);
        var repeated = Install("gpu-host", copy, "--pubkey", release.KeyA.Public, "--pubkey", release.KeyB.Public, "--no-service");
        Assert.True(repeated.ExitCode == 0, repeated.Output);

        // The old release, signed with A, still installs with the same list.
        Directory.Delete(Root, recursive: true);
        var old = Install("gpu-host", release.Release, "--pubkey", both, "--no-service");
        Assert.True(old.ExitCode == 0, old.Output);
        Assert.Contains($"signed with key {KeyId(release.KeyA)}", old.Stdout);
    }

    [Fact]
    public void The_provenance_statement_lists_every_file_of_sha256sums_and_its_signature_verifies()
    {
        string statement = Path.Combine(release.Release, "provenance.intoto.json");
        var verify = ScriptRun.Run("minisign", ["-V", "-m", statement, "-p", release.KeyA.Public]);
        Assert.True(verify.ExitCode == 0, verify.Output);
        Assert.Contains("file:provenance.intoto.json", verify.Stdout);

        var sums = File.ReadAllLines(Path.Combine(release.Release, "SHA256SUMS"))
            .Select(l => l.Split("  ", 2))
            .ToDictionary(p => p[1], p => p[0]);
        Assert.Contains("bin/linux-x64/dataplane", sums.Keys);
        Assert.Contains("bin/linux-x64/dataplane-agent", sums.Keys);
        Assert.Contains("bin/linux-arm64/dataplane-agent", sums.Keys);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Binaries.Dataplane))),
            sums["bin/linux-x64/dataplane"]);

        using var doc = JsonDocument.Parse(File.ReadAllText(statement));
        var root = doc.RootElement;
        Assert.Equal("https://in-toto.io/Statement/v1", root.GetProperty("_type").GetString());
        Assert.Equal("https://slsa.dev/provenance/v1", root.GetProperty("predicateType").GetString());
        var subjects = root.GetProperty("subject").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("digest").GetProperty("sha256").GetString()!);
        Assert.Equal(sums.OrderBy(p => p.Key, StringComparer.Ordinal), subjects.OrderBy(p => p.Key, StringComparer.Ordinal));

        var predicate = root.GetProperty("predicate");
        var build = predicate.GetProperty("buildDefinition");
        Assert.StartsWith("urn:", build.GetProperty("buildType").GetString());
        string head = ScriptRun.Run("git", ["rev-parse", "HEAD"], RepoFiles.Root).Stdout.Trim();
        var source = build.GetProperty("externalParameters").GetProperty("source");
        Assert.Equal(head, source.GetProperty("commit").GetString());
        Assert.Contains(source.GetProperty("treeState").GetString(), new[] { "clean", "dirty" });
        Assert.Equal(source.GetProperty("treeState").GetString() == "dirty", source.GetProperty("dirty").GetBoolean());
        Assert.Equal(head, build.GetProperty("resolvedDependencies")[0].GetProperty("digest").GetProperty("gitCommit").GetString());
        Assert.Contains("prebuilt", build.GetProperty("externalParameters").GetProperty("build").GetString());

        var run = predicate.GetProperty("runDetails");
        Assert.Equal("urn:dataplane:builder:test", run.GetProperty("builder").GetProperty("id").GetString());
        var started = run.GetProperty("metadata").GetProperty("startedOn").GetDateTimeOffset();
        var finished = run.GetProperty("metadata").GetProperty("finishedOn").GetDateTimeOffset();
        Assert.True(started <= finished, $"{started} > {finished}");
        Assert.Equal(TimeSpan.Zero, started.Offset);

        // The statement's signature is its own: another file under it does not verify.
        var swapped = ScriptRun.Run("minisign", ["-V", "-m", Path.Combine(release.Release, "SHA256SUMS"),
            "-x", statement + ".minisig", "-p", release.KeyA.Public]);
        Assert.NotEqual(0, swapped.ExitCode);
    }

    [Fact]
    public void An_unsigned_release_signed_elsewhere_with_the_printed_commands_verifies()
    {
        // The offline flow: release.sh --no-sign prints the minisign commands; the key's machine runs them.
        string output = Path.Combine(_dir, "unsigned");
        var built = release.Build(output, "--no-sign");
        Assert.True(built.ExitCode == 0, built.Output);
        Assert.False(File.Exists(Path.Combine(output, "SHA256SUMS.minisig")));
        AssertRefused(InstallTrusting(output, release.KeyA), "the release is not signed");

        string[] commands = built.Stdout.Split('\n').Where(l => l.TrimStart().StartsWith("minisign -S", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, commands.Length);
        foreach (string command in commands)
        {
            var signed = ScriptRun.Run("bash", ["-c", command.Trim().Replace("-s KEY", "-s \"$1\""), "sign", release.KeyA.Secret], output);
            Assert.True(signed.ExitCode == 0, command + "\n" + signed.Output);
        }

        var r = InstallTrusting(output, release.KeyA);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains("file:SHA256SUMS", r.Stdout);
    }

    [Fact]
    public void A_release_install_enables_and_starts_the_service_and_restarts_it_only_after_a_change()
    {
        // A stand-in systemctl that keeps enabled/active state in files and logs every call.
        string state = Path.Combine(_dir, "systemctl");
        Directory.CreateDirectory(state);
        string fake = Path.Combine(_dir, "fake-systemctl");
        File.WriteAllText(fake, $$"""
            #!/bin/bash
            echo "$*" >> '{{state}}/calls'
            case "$1" in
              is-enabled) [ -e '{{state}}/enabled' ] ;;
              is-active) [ -e '{{state}}/active' ] ;;
              enable) touch '{{state}}/enabled' ;;
              restart) touch '{{state}}/active' ;;
              daemon-reload) ;;
              *) exit 1 ;;
            esac
            """);
        File.SetUnixFileMode(fake, (UnixFileMode)0x1ED);
        string calls = Path.Combine(state, "calls");
        string[] Calls() => File.Exists(calls) ? File.ReadAllLines(calls).Where(l => !l.StartsWith("is-", StringComparison.Ordinal)).ToArray() : [];
        ScriptResult Run(params string[] extra) => ScriptRun.Run("env",
            ["DATAPLANE_SYSTEMCTL=" + fake, "bash", _script, "--role", "gpu-host", "--prefix", Root, "--from", release.Release,
             "--pubkey", release.KeyA.Public, .. extra]);

        var filesOnly = Run("--no-service");
        Assert.True(filesOnly.ExitCode == 0, filesOnly.Output);
        Assert.False(File.Exists(calls), "--no-service called systemctl");

        Directory.Delete(Root, recursive: true);
        var first = Run();
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Equal(["daemon-reload", "enable --quiet dataplane.service", "restart dataplane.service"], Calls());

        // Nothing changed and the service runs: no restart.
        File.Delete(calls);
        var again = Run();
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Empty(Calls());

        // A new binary (here: the old one altered on the node) is replaced, and the service restarted.
        string bin = Path.Combine(Root, "usr/local/bin/dataplane");
        ReleaseFixture.Rewrite(bin, [.. File.ReadAllBytes(bin), 0]);
        var upgrade = Run();
        Assert.True(upgrade.ExitCode == 0, upgrade.Output);
        Assert.Equal(["restart dataplane.service"], Calls());
    }

    [Fact]
    public void A_service_that_does_not_start_is_reported_and_the_files_stay()
    {
        string fake = Path.Combine(_dir, "failing-systemctl");
        File.WriteAllText(fake, "#!/bin/bash\ncase \"$1\" in restart) echo 'Job for dataplane.service failed.' >&2; exit 1 ;; is-*) exit 3 ;; esac\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0x1ED);
        var r = ScriptRun.Run("env", ["DATAPLANE_SYSTEMCTL=" + fake, "bash", _script, "--role", "gpu-host", "--prefix", Root,
            "--from", release.Release, "--pubkey", release.KeyA.Public]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("dataplane.service did not start", r.Stderr);
        Assert.Contains("--no-service", r.Stderr);
        Assert.True(File.Exists(Path.Combine(Root, "usr/local/bin/dataplane")));
    }

    [Theory]
    [InlineData(new[] { "--from", "/nonexistent" }, "--from needs --pubkey FILE")]
    [InlineData(new[] { "--pubkey", "/etc/hostname" }, "--pubkey only goes with --from RELEASE")]
    [InlineData(new[] { "--from", "/nonexistent", "--pubkey", "/etc/hostname", "--binary", "/bin/true" }, "--binary and --unit do not go with --from")]
    [InlineData(new[] { "--from", "/nonexistent", "--pubkey", "/etc/hostname", "--uninstall" }, "--uninstall does not go with --from")]
    [InlineData(new[] { "--from", "/nonexistent", "--pubkey", "/etc/hostname" }, "release directory '/nonexistent' does not exist")]
    [InlineData(new[] { "--arch", "arm64" }, "dataplane (gpu-host) is built for x64 only")]
    [InlineData(new[] { "--arch", "riscv" }, "unknown --arch 'riscv'")]
    [InlineData(new[] { "--from" }, "--from needs a value")]
    public void Bad_release_arguments_exit_2_with_one_line(string[] args, string message)
    {
        var r = ScriptRun.Run("bash", [_script, "--role", "gpu-host", "--prefix", Root, .. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.False(Directory.Exists(Root));
    }

    [Fact]
    public void A_public_key_file_that_holds_no_key_exits_2_naming_the_file_and_line()
    {
        string bad = Path.Combine(_dir, "bad.pub");
        File.WriteAllText(bad, "untrusted comment: minisign public key\nnot-a-key\n");
        var r = Install("gpu-host", release.Release, "--pubkey", bad, "--no-service");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"'{bad}' line 2 is not a minisign public key", r.Stderr);
        Assert.False(Directory.Exists(Root));
    }

    [Fact]
    public void Release_sh_refuses_bad_arguments_with_exit_2_and_one_line()
    {
        string nonEmpty = Path.Combine(_dir, "full");
        Directory.CreateDirectory(nonEmpty);
        File.WriteAllText(Path.Combine(nonEmpty, "x"), "");
        string notAKey = Path.Combine(_dir, "not-a-key");
        File.WriteAllText(notAKey, "hello\n");
        string output = Path.Combine(_dir, "out");

        (string[] Args, string Message)[] cases =
        [
            ([], "--sign-key KEY is required"),
            (["--sign-key", release.KeyA.Secret, "--no-sign"], "--sign-key and --no-sign exclude each other"),
            (["--sign-key", notAKey], $"signing key '{notAKey}' is not a minisign secret key"),
            (["--sign-key", Path.Combine(_dir, "missing.key")], "does not exist or cannot be read"),
            (["--no-sign", "--builder-id", "not a uri"], "--builder-id 'not a uri' is not a URI"),
            (["--no-sign", "--frobnicate"], "unknown argument '--frobnicate'"),
            (["--no-sign", "--publish-dir"], "--publish-dir needs a value"),
            (["--no-sign", "--publish-dir", Path.Combine(_dir, "nothing")], "does not exist or is not executable"),
        ];
        foreach (var (args, message) in cases)
        {
            var r = ScriptRun.Run("bash", [Path.Combine(RepoFiles.Root, "scripts/release.sh"), "--out", output, "--no-build", .. args]);
            Assert.True(r.ExitCode == 2, $"{string.Join(' ', args)}: exit {r.ExitCode}\n{r.Output}");
            Assert.Contains(message, Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.False(Directory.Exists(output), string.Join(' ', args));
        }

        var full = release.Build(nonEmpty, "--no-sign");
        Assert.Equal(2, full.ExitCode);
        Assert.Contains("exists and is not an empty directory", full.Stderr);
        Assert.Equal(["x"], Directory.GetFiles(nonEmpty).Select(Path.GetFileName));
    }

    /// <summary>The key id as minisign prints it: bytes 2..9 of the decoded key, little-endian, upper-case hex.</summary>
    internal static string KeyId(MinisignKey key)
    {
        byte[] id = Convert.FromBase64String(key.PublicBase64)[2..10];
        Array.Reverse(id);
        return Convert.ToHexString(id);
    }
}
