using System.Security.Cryptography.X509Certificates;
using DataPlane.Ops.Tests.Install;

namespace DataPlane.Ops.Tests.Pki;

/// <summary>scripts/pki.sh with the real openssl: a CA, a server and a client certificate that verify
/// against it, with the asked names, lifetimes and key modes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PkiScriptTests : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("dataplane-pki-").FullName, "pki");
    private readonly string _script = Path.Combine(RepoFiles.Root, "scripts/pki.sh");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    private ScriptResult Pki(params string[] args) => ScriptRun.Run("bash", [_script, .. args]);

    private static void Ok(ScriptResult r) => Assert.True(r.ExitCode == 0, r.Output);

    [Fact]
    public void Issues_a_ca_a_server_and_a_client_certificate_that_verify()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-server", _dir, "gpu-01.dataplane.internal", "--dns", "gpu-01", "--ip", "10.0.0.11"));
        Ok(Pki("issue-client", _dir, "pi-01", "--days", "7"));

        Ok(ScriptRun.Run("openssl", ["verify", "-CAfile", Path.Combine(_dir, "ca.pem"),
            Path.Combine(_dir, "hosts/gpu-01.dataplane.internal.pem"), Path.Combine(_dir, "agents/pi-01.pem")]));

        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "ca.pem"));
        using var server = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "hosts/gpu-01.dataplane.internal.pem"));
        using var client = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "agents/pi-01.pem"));

        Assert.Equal(1095, Math.Round((ca.NotAfter - ca.NotBefore).TotalDays));
        Assert.Equal(30, Math.Round((server.NotAfter - server.NotBefore).TotalDays));
        Assert.Equal(7, Math.Round((client.NotAfter - client.NotBefore).TotalDays));
        Assert.Equal("1.2.840.10045.2.1", server.PublicKey.Oid.Value); // id-ecPublicKey
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["gpu-01.dataplane.internal", "gpu-01"], san.EnumerateDnsNames());
        Assert.Equal(["10.0.0.11"], san.EnumerateIPAddresses().Select(a => a.ToString()));
        // A host certificate serves both ends of the spill path's mutual TLS: serverAuth and clientAuth.
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
            server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        Assert.Contains("1.3.6.1.5.5.7.3.2", client.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value)); // clientAuth
        Assert.False(server.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        Assert.Equal("600", ScriptRun.Mode(Path.Combine(_dir, "ca.key")));
        Assert.Equal("600", ScriptRun.Mode(Path.Combine(_dir, "hosts/gpu-01.dataplane.internal.key")));
        Assert.Equal("600", ScriptRun.Mode(Path.Combine(_dir, "agents/pi-01.key")));
        Assert.Equal("644", ScriptRun.Mode(Path.Combine(_dir, "ca.pem")));

        // The pair loads as TLS would use it.
        using var pair = X509Certificate2.CreateFromPemFile(Path.Combine(_dir, "agents/pi-01.pem"), Path.Combine(_dir, "agents/pi-01.key"));
        Assert.True(pair.HasPrivateKey);
    }

    [Fact]
    public void A_second_init_refuses_and_leaves_the_ca_alone()
    {
        Ok(Pki("init", _dir));
        byte[] before = File.ReadAllBytes(Path.Combine(_dir, "ca.key"));
        var again = Pki("init", _dir);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("refusing to replace", again.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir, "ca.key")));
    }

    [Fact]
    public void Re_issuing_replaces_the_key_and_the_certificate()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-client", _dir, "pi-01"));
        string cert = Path.Combine(_dir, "agents/pi-01.pem");
        string first = X509CertificateLoader.LoadCertificateFromFile(cert).Thumbprint;
        string firstKey = File.ReadAllText(Path.Combine(_dir, "agents/pi-01.key"));
        Ok(Pki("issue-client", _dir, "pi-01"));
        Assert.NotEqual(first, X509CertificateLoader.LoadCertificateFromFile(cert).Thumbprint);
        Assert.NotEqual(firstKey, File.ReadAllText(Path.Combine(_dir, "agents/pi-01.key")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dir, "agents"), ".*"));
    }

    [Fact]
    public void Renew_within_re_issues_only_a_leaf_that_is_due_or_from_another_ca()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-server", _dir, "gpu-01", "--ip", "10.0.0.11"));
        string cert = Path.Combine(_dir, "hosts/gpu-01.pem");
        string Thumbprint() => X509CertificateLoader.LoadCertificateFromFile(cert).Thumbprint;
        string first = Thumbprint();

        // 30 days left, a 10-day window: kept, and said so.
        var kept = Pki("issue-server", _dir, "gpu-01", "--ip", "10.0.0.11", "--renew-within", "10");
        Ok(kept);
        Assert.Contains("not re-issued", kept.Stdout);
        Assert.Equal(first, Thumbprint());

        // A 40-day window covers the 30 days left: re-issued.
        Ok(Pki("issue-server", _dir, "gpu-01", "--ip", "10.0.0.11", "--renew-within", "40"));
        string second = Thumbprint();
        Assert.NotEqual(first, second);

        // A leaf from another CA (the CA was rotated) is re-issued whatever its dates.
        string other = Path.Combine(Path.GetDirectoryName(_dir)!, "other");
        Ok(Pki("init", other));
        Ok(Pki("issue-server", other, "gpu-01"));
        File.Copy(Path.Combine(other, "hosts/gpu-01.pem"), cert, overwrite: true);
        File.Copy(Path.Combine(other, "hosts/gpu-01.key"), Path.Combine(_dir, "hosts/gpu-01.key"), overwrite: true);
        string foreign = Thumbprint();
        Ok(Pki("issue-server", _dir, "gpu-01", "--renew-within", "10"));
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(cert);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "ca.pem"));
        Assert.NotEqual(foreign, renewed.Thumbprint);
        Assert.Equal( // signed by this CA (both CAs share a subject name; their keys differ)
            Convert.FromHexString(ca.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier!),
            renewed.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single().KeyIdentifier!.Value.ToArray());
    }

    [Theory]
    [InlineData(new[] { "issue-client", "DIR", "pi-01" }, "no CA in")]
    [InlineData(new[] { "rotate", "DIR" }, "unknown command 'rotate'")]
    [InlineData(new[] { "init", "DIR", "--days", "0" }, "not a positive number")]
    [InlineData(new[] { "issue-server", "DIR", "gpu 01" }, "is not a host name or address")]
    [InlineData(new[] { "issue-client", "DIR", "pi-01", "--dns", "x" }, "--dns is for issue-server")]
    [InlineData(new[] { "issue-client", "DIR", "pi-01", "--renew-within", "soon" }, "is not a number of days")]
    [InlineData(new[] { "init", "DIR", "--renew-within", "3" }, "--renew-within is for issue-server and issue-client")]
    public void Bad_arguments_exit_2_with_a_message(string[] args, string message)
    {
        var r = Pki([.. args.Select(a => a == "DIR" ? _dir : a)]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void The_make_pki_front_end_still_issues_the_old_layout()
    {
        Ok(ScriptRun.Run("bash", [Path.Combine(RepoFiles.Root, "scripts/make-pki.sh"), _dir, "--host", "localhost,127.0.0.1", "--agent", "pi-01"]));
        using var server = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "hosts/localhost.pem"));
        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal(["127.0.0.1"], san.EnumerateIPAddresses().Select(a => a.ToString()));
        Assert.True(File.Exists(Path.Combine(_dir, "agents/pi-01.key")));
    }
}
