using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Edge.Gpu;
using DataPlane.Ops.Tests.Install;

namespace DataPlane.Ops.Tests.Pki;

/// <summary>The agent's GPU pool presents a re-issued client certificate on its next connection,
/// without a restart: a TLS server on loopback records the certificate of every handshake.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClientCertificateReloadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("dataplane-reload-").FullName, "pki");
    private readonly string _script = Path.Combine(RepoFiles.Root, "scripts/pki.sh");
    private readonly ConcurrentQueue<string> _seen = new();
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);
    }

    private void Pki(params string[] args)
    {
        var r = ScriptRun.Run("bash", [_script, .. args]);
        Assert.True(r.ExitCode == 0, r.Output);
    }

    /// <summary>Accepts connections, completes the TLS handshake requiring a client certificate,
    /// records its thumbprint and closes (the gRPC call fails; only the handshake matters).</summary>
    private async Task ServeAsync(TcpListener listener, X509Certificate2 serverCertificate)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
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
                    }, _stop.Token);
                    if (tls.RemoteCertificate is { } seen)
                    {
                        _seen.Enqueue(seen.GetCertHashString());
                    }
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                }
            }
        }
    }

    private async Task<bool> HandshakeSeenAsync(GpuPool pool, string thumbprint, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_seen.Contains(thumbprint))
            {
                return true;
            }

            _ = await pool.WarmUpAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
            await Task.Delay(200);
        }

        return _seen.Contains(thumbprint);
    }

    private static string Thumbprint(string pem)
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(pem);
        return cert.GetCertHashString();
    }

    [Fact]
    public async Task A_re_issued_client_certificate_is_presented_on_the_next_connection()
    {
        Pki("init", _dir);
        Pki("issue-server", _dir, "localhost", "--ip", "127.0.0.1");
        Pki("issue-client", _dir, "pi-01");
        string cert = Path.Combine(_dir, "agents/pi-01.pem");
        string key = Path.Combine(_dir, "agents/pi-01.key");

        using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(_dir, "hosts/localhost.pem"), Path.Combine(_dir, "hosts/localhost.key"));
        using var serverCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var server = ServeAsync(listener, serverCertificate);
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var pool = new GpuPool(new GpuOptions
            {
                Hosts = [$"localhost:{port}"],
                Tls = new GpuTlsOptions(cert, key, Path.Combine(_dir, "ca.pem")),
            });

            string first = Thumbprint(cert);
            Assert.True(await HandshakeSeenAsync(pool, first, TimeSpan.FromSeconds(30)), "the first client certificate was never presented");

            // Rotation: pki.sh replaces both files; the pool is not touched.
            Pki("issue-client", _dir, "pi-01");
            string second = Thumbprint(cert);
            Assert.NotEqual(first, second);
            Assert.True(await HandshakeSeenAsync(pool, second, TimeSpan.FromSeconds(60)),
                $"the re-issued certificate was never presented; seen: {string.Join(", ", _seen.Distinct())}");

            _stop.Cancel();
            listener.Stop();
            await server;
        }
        finally
        {
            listener.Stop();
        }
    }
}
