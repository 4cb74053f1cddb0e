using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Edge.Gpu;
using DataPlane.Hosting.Listeners;
using DataPlane.Ops.Tests.Install;

namespace DataPlane.Ops.Tests.Pki;

/// <summary>scripts/pki.sh revoke and crl with the real openssl: the revocation list verifies against the CA and names
/// exactly the revoked leaves (openssl's own check and ours), revoking is idempotent, mistakes exit 2, and the agent's
/// GPU client refuses a host whose certificate the list names.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PkiRevokeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("dataplane-revoke-").FullName, "pki");
    private readonly string _script = Path.Combine(RepoFiles.Root, "scripts/pki.sh");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    private ScriptResult Pki(params string[] args) => ScriptRun.Run("bash", [_script, .. args]);

    private static void Ok(ScriptResult r) => Assert.True(r.ExitCode == 0, r.Output);

    private string P(string relative) => Path.Combine(_dir, relative);

    /// <summary>openssl verify with the CRL: the output for each leaf.</summary>
    private ScriptResult VerifyWithCrl(params string[] leaves) =>
        ScriptRun.Run("openssl", ["verify", "-crl_check", "-CAfile", P("ca.pem"), "-CRLfile", P("crl.pem"), .. leaves]);

    private RevocationList Ours() => RevocationList.Load(P("crl.pem"), ListenerSetup.LoadCa(P("ca.pem")));

    private static X509Certificate2 Load(string path) => X509CertificateLoader.LoadCertificateFromFile(path);

    [Fact]
    public void Revoke_writes_a_list_that_openssl_and_the_binaries_check_against_the_ca()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-client", _dir, "pi-01"));
        Ok(Pki("issue-client", _dir, "pi-02"));
        Ok(Pki("issue-server", _dir, "gpu-01"));

        var r = Pki("revoke", _dir, "pi-01", "--reason", "keyCompromise");
        Ok(r);
        Assert.Contains("revoked CN=pi-01", r.Stdout);
        Assert.Contains("lists 1 revoked certificate(s)", r.Stdout);
        Assert.Equal("644", ScriptRun.Mode(P("crl.pem")));

        // openssl: the list is signed by the CA (verify would fail otherwise) and names pi-01 only.
        var verify = VerifyWithCrl(P("agents/pi-01.pem"), P("agents/pi-02.pem"), P("hosts/gpu-01.pem"));
        Assert.Contains("certificate revoked", verify.Output);
        Assert.Contains("agents/pi-02.pem: OK", verify.Output);
        Assert.Contains("hosts/gpu-01.pem: OK", verify.Output);
        Assert.DoesNotContain("agents/pi-01.pem: OK", verify.Output);
        var crl = ScriptRun.Run("openssl", ["crl", "-in", P("crl.pem"), "-CAfile", P("ca.pem"), "-noout"]);
        Assert.Contains("verify OK", crl.Output);

        // The binaries' reader agrees.
        var list = Ours();
        Assert.Equal(1, list.Count);
        Assert.True(list.IsRevoked(Load(P("agents/pi-01.pem"))));
        Assert.False(list.IsRevoked(Load(P("agents/pi-02.pem"))));
        Assert.InRange(list.NextUpdate!.Value, DateTimeOffset.UtcNow.AddDays(29), DateTimeOffset.UtcNow.AddDays(31));

        // Again: nothing new, the list is re-signed; a host and a kept copy of a re-issued leaf can be revoked too.
        string oldCopy = P("pi-02-old.pem");
        File.Copy(P("agents/pi-02.pem"), oldCopy);
        Ok(Pki("issue-client", _dir, "pi-02"));
        r = Pki("revoke", _dir, "pi-01");
        Ok(r);
        Assert.Contains("was already revoked", r.Stdout);
        Ok(Pki("revoke", _dir, oldCopy, "--reason", "superseded"));
        Ok(Pki("revoke", _dir, "gpu-01", "--days", "7"));
        list = Ours();
        Assert.Equal(3, list.Count);
        Assert.True(list.IsRevoked(Load(oldCopy)));
        Assert.False(list.IsRevoked(Load(P("agents/pi-02.pem"))));
        Assert.True(list.IsRevoked(Load(P("hosts/gpu-01.pem"))));
        Assert.InRange(list.NextUpdate!.Value, DateTimeOffset.UtcNow.AddDays(6), DateTimeOffset.UtcNow.AddDays(8));

        // crl re-signs with a fresh next update and the same entries.
        Ok(Pki("crl", _dir, "--days", "60"));
        list = Ours();
        Assert.Equal(3, list.Count);
        Assert.InRange(list.NextUpdate!.Value, DateTimeOffset.UtcNow.AddDays(59), DateTimeOffset.UtcNow.AddDays(61));
    }

    [Fact]
    public void Mistakes_exit_2_with_a_reason()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-client", _dir, "pi-01"));
        string other = Path.Combine(Path.GetDirectoryName(_dir)!, "other");
        Ok(Pki("init", other));
        Ok(Pki("issue-client", other, "stranger"));

        void Fails(string expected, params string[] args)
        {
            var r = Pki(args);
            Assert.True(r.ExitCode == 2, $"{string.Join(' ', args)}: exit {r.ExitCode}: {r.Output}");
            Assert.Contains(expected, r.Stderr);
        }

        Fails("no leaf 'pi-99'", "revoke", _dir, "pi-99");
        Fails("was not issued by the CA", "revoke", _dir, Path.Combine(other, "agents/stranger.pem"));
        Fails("--reason: 'oops' is not one of", "revoke", _dir, "pi-01", "--reason", "oops");
        Fails("--days: 'x' is not a positive number", "crl", _dir, "--days", "x");
        Fails("revoke needs a NAME", "revoke", _dir);
        Fails("no CA in", "crl", Path.Combine(other, "missing"));
        Assert.False(File.Exists(P("crl.pem")));
    }

    [Fact]
    public async Task The_gpu_client_refuses_a_host_whose_certificate_is_revoked()
    {
        Ok(Pki("init", _dir));
        Ok(Pki("issue-server", _dir, "localhost", "--ip", "127.0.0.1"));
        Ok(Pki("issue-client", _dir, "pi-01"));
        Ok(Pki("crl", _dir));

        using var pem = X509Certificate2.CreateFromPemFile(P("hosts/localhost.pem"), P("hosts/localhost.key"));
        using var serverCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var handshakes = new ConcurrentQueue<bool>();
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient tcp;
                try
                {
                    tcp = await listener.AcceptTcpClientAsync(stop.Token);
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }

                using (tcp)
                await using (var tls = new SslStream(tcp.GetStream()))
                {
                    try
                    {
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                        {
                            ServerCertificate = serverCertificate,
                            ClientCertificateRequired = true,
                            RemoteCertificateValidationCallback = (_, _, _, _) => true,
                            ApplicationProtocols = [SslApplicationProtocol.Http2],
                        }, stop.Token);
                        handshakes.Enqueue(true);
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                    {
                        handshakes.Enqueue(false);
                    }
                }
            }
        });

        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            GpuPool Pool() => new(new GpuOptions
            {
                Hosts = [$"localhost:{port}"],
                ConnectTimeout = TimeSpan.FromSeconds(5),
                Tls = new GpuTlsOptions(P("agents/pi-01.pem"), P("agents/pi-01.key"), P("ca.pem")) { CrlPath = P("crl.pem") },
            });

            // Not revoked: the handshake completes (the call then fails: the server speaks no gRPC).
            using (var pool = Pool())
            {
                _ = await pool.WarmUpAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
                Assert.Equal(0, pool.Revocation!.Refused);
                Assert.Contains(true, handshakes);
            }

            Ok(Pki("revoke", _dir, "localhost"));
            using (var pool = Pool())
            {
                var (ready, problem) = await pool.WarmUpAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
                Assert.Equal(0, ready);
                Assert.NotNull(problem);
                Assert.True(pool.Revocation!.Refused > 0, "the revoked host certificate was not refused");
            }
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await server;
        }
    }
}
