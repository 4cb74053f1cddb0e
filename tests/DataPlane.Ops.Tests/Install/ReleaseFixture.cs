
namespace DataPlane.Ops.Tests.Install;

/// <summary>One signed release for the whole collection: two minisign key pairs made with the real
/// minisign (<c>-W</c>: no password, for tests only) and <c>scripts/release.sh --no-build</c> over the
/// published executables (CI publishes them once, before the tests), signed with <see cref="KeyA"/>.
/// Tests never change it: they tamper with copies (<see cref="CopyRelease"/>).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ReleaseFixture : IDisposable
{
    public ReleaseFixture()
    {
        Dir = Directory.CreateTempSubdirectory("dataplane-release-").FullName;
        KeyA = NewKey("a");
        KeyB = NewKey("b");

        // The published executables, wherever Binaries finds them, behind links in the layout publish.sh writes.
        PublishDir = Path.Combine(Dir, "publish");
        Link(Binaries.Dataplane, "dataplane/linux-x64/dataplane");
        Link(Binaries.Agent, "dataplane-agent/linux-x64/dataplane-agent");
        Link(Binaries.AgentArm64, "dataplane-agent/linux-arm64/dataplane-agent");

        Release = Path.Combine(Dir, "release");
        var r = Build(Release, "--sign-key", KeyA.Secret);
        Assert.True(r.ExitCode == 0, r.Output);
    }

    /// <summary>A scratch directory the fixture removes at the end.</summary>
    public string Dir { get; }

    /// <summary>The key the fixture's release is signed with.</summary>
    public MinisignKey KeyA { get; }

    /// <summary>Another key: a release signed with it is "wrongly signed" for a verifier that trusts only A.</summary>
    public MinisignKey KeyB { get; }

    /// <summary>Links to the published executables in publish.sh's layout.</summary>
    public string PublishDir { get; }

    /// <summary>The signed release; never modified.</summary>
    public string Release { get; }

    /// <summary>Runs scripts/release.sh --out <paramref name="output"/> --no-build over the published executables.</summary>
    internal ScriptResult Build(string output, params string[] extra) =>
        ScriptRun.Run("bash", [Path.Combine(RepoFiles.Root, "scripts/release.sh"), "--out", output, "--no-build",
            "--publish-dir", PublishDir, "--builder-id", "urn:dataplane:builder:test", .. extra]);

    /// <summary>A copy of the release under <paramref name="destination"/>, with hard links (cheap); a test that
    /// alters a file replaces it (<see cref="Rewrite"/>), so the fixture's release never changes.</summary>
    public string CopyRelease(string destination)
    {
        var r = ScriptRun.Run("cp", ["-al", Release, destination]);
        Assert.True(r.ExitCode == 0, r.Output);
        return destination;
    }

    /// <summary>Replaces <paramref name="path"/> by a new file (a new inode, not the linked one) with the given content.</summary>
    public static void Rewrite(string path, byte[] content)
    {
        var mode = File.GetUnixFileMode(path);
        File.Delete(path);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>Signs <paramref name="file"/> with <paramref name="key"/> (minisign -S), writing FILE.minisig.</summary>
    public static void Sign(string file, MinisignKey key, string trustedComment = "test")
    {
        var r = ScriptRun.Run("minisign", ["-S", "-s", key.Secret, "-m", file, "-t", trustedComment]);
        Assert.True(r.ExitCode == 0, r.Output);
    }

    private MinisignKey NewKey(string name)
    {
        string pub = Path.Combine(Dir, name + ".pub");
        string secret = Path.Combine(Dir, name + ".key");
        var r = ScriptRun.Run("minisign", ["-G", "-W", "-p", pub, "-s", secret]);
        Assert.True(r.ExitCode == 0, "minisign -G failed (scripts/bootstrap.sh installs minisign): " + r.Output);
        return new MinisignKey(pub, secret, File.ReadAllLines(pub)[1].Trim());
    }

    private void Link(string target, string relative)
    {
        string path = Path.Combine(PublishDir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>A minisign key pair on disk and the public key as its base64 line.</summary>
public sealed record MinisignKey(string Public, string Secret, string PublicBase64);

/// <summary>The tests that share <see cref="ReleaseFixture"/>'s release.</summary>
[CollectionDefinition(Name)]
public sealed class ReleaseCollection : ICollectionFixture<ReleaseFixture>
{
    public const string Name = "signed release";
}
