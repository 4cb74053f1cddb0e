using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DataPlane.Host.Configuration;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests.Authorization;

/// <summary>Client certificates listed in the revocation list (<c>Listen:Tls:Crl</c>) are refused at the TLS handshake,
/// and a changed list is picked up without a restart.</summary>
public sealed class RevocationTests
{
    private static string Gauge(string metrics, string name)
    {
        string line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal)) ?? "";
        return line.Length == 0 ? "" : line[(name.Length + 1)..];
    }

    [Fact]
    public async Task A_revoked_client_certificate_is_refused_at_the_handshake_once_the_list_changes()
    {
        await using var h = await MutualTlsHarness.StartAsync(crl: true);
        var stolen = h.Client("pi-03");
        var other = h.Client("pi-04");
        Assert.True((await h.Grpc(stolen).ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.Equal("0", Gauge(await h.MetricsTextAsync(), "dataplane_tls_crl_revoked_certificates{tls=\"grpc\"}"));

        // The operator revokes pi-03 and replaces the file (by rename, as pki.sh and Ansible do); no restart.
        string next = h.CrlPath + ".new";
        File.WriteAllText(next, h.Ca.CrlPem(stolen));
        File.Move(next, h.CrlPath, overwrite: true);
        await Eventually.TrueAsync(async () => Gauge(await h.MetricsTextAsync(), "dataplane_tls_crl_revoked_certificates{tls=\"grpc\"}") == "1",
            TimeSpan.FromSeconds(30), "the daemon to load the new revocation list");

        var e = await Assert.ThrowsAsync<RpcException>(() => h.Grpc(stolen).ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
        TlsRefusal.AssertRefused(e);
        Assert.True((await h.Grpc(other).ServerLiveAsync(new ServerLiveRequest())).Live);
        string metrics = await h.MetricsTextAsync();
        Assert.NotEqual("0", Gauge(metrics, "dataplane_tls_revoked_handshakes_total{tls=\"grpc\"}"));
        Assert.NotEqual("0", Gauge(metrics, "dataplane_tls_crl_next_update_timestamp_seconds{tls=\"grpc\"}"));

        // A list that does not verify (signed by another CA) is not taken: the previous one stays in use.
        using var foreign = TestCa.Create("Someone Else's CA");
        File.WriteAllText(next, foreign.CrlPem());
        File.Move(next, h.CrlPath, overwrite: true);
        await Eventually.TrueAsync(async () => Gauge(await h.MetricsTextAsync(), "dataplane_tls_crl_reload_failures_total{tls=\"grpc\"}") == "1",
            TimeSpan.FromSeconds(30), "the daemon to try the foreign list");
        e = await Assert.ThrowsAsync<RpcException>(() => h.Grpc(stolen).ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
        TlsRefusal.AssertRefused(e);
        Assert.Equal("1", Gauge(await h.MetricsTextAsync(), "dataplane_tls_crl_revoked_certificates{tls=\"grpc\"}"));
    }

    [Fact]
    public void A_list_that_does_not_verify_or_parse_stops_the_daemon_at_start_naming_the_key()
    {
        using var ca = TestCa.Create();
        using var foreign = TestCa.Create("Someone Else's CA");
        string dir = Directory.CreateTempSubdirectory("dataplane-crl-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "ca.pem"), ca.Pem);
            using (var server = ca.IssueServer())
            {
                TestCa.Write(server, dir, "server");
            }

            File.WriteAllText(Path.Combine(dir, "foreign.pem"), foreign.CrlPem());
            File.WriteAllText(Path.Combine(dir, "garbage.pem"), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
            File.WriteAllText(Path.Combine(dir, "none.pem"), ca.Pem);

            string Bind(string crl, bool clientCa = true)
            {
                var values = new Dictionary<string, string?>
                {
                    ["Listen:Tls:Certificate"] = Path.Combine(dir, "server.pem"),
                    ["Listen:Tls:Key"] = Path.Combine(dir, "server.key"),
                    ["Listen:Tls:Crl"] = crl,
                };
                if (clientCa)
                {
                    values["Listen:Tls:ClientCa"] = Path.Combine(dir, "ca.pem");
                }

                var e = Assert.Throws<ConfigurationException>(() =>
                    DaemonConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build()));
                return Assert.Single(e.Errors.Distinct());
            }

            Assert.StartsWith($"Listen:Tls:Crl: '{Path.Combine(dir, "foreign.pem")}' holds a list of 'CN=Someone Else's CA', which is not a trusted CA",
                Bind(Path.Combine(dir, "foreign.pem")));
            Assert.StartsWith($"Listen:Tls:Crl: '{Path.Combine(dir, "garbage.pem")}' is not a certificate revocation list", Bind(Path.Combine(dir, "garbage.pem")));
            Assert.StartsWith($"Listen:Tls:Crl: '{Path.Combine(dir, "none.pem")}' holds no PEM block 'X509 CRL'", Bind(Path.Combine(dir, "none.pem")));
            Assert.Equal($"Listen:Tls:Crl: file '{Path.Combine(dir, "missing.pem")}' does not exist", Bind(Path.Combine(dir, "missing.pem")));
            Assert.Equal("Listen:Tls:Crl: needs ClientCa: it revokes client certificates issued by that CA",
                Bind(Path.Combine(dir, "none.pem"), clientCa: false));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Lists_are_read_from_pem_or_der_and_checked_against_the_ca()
    {
        using var ca = TestCa.Create();
        using var second = TestCa.Create("Second CA");
        using var revoked = ca.IssueClient("revoked");
        using var kept = ca.IssueClient("kept");
        using var fromSecond = second.IssueClient("revoked-too");
        X509Certificate2Collection both = [ca.Certificate, second.Certificate];

        // Two lists in one PEM file, one per CA (a CA rotation).
        string pem = ca.CrlPem(revoked) + "\n" + second.CrlPem(fromSecond);
        var list = RevocationList.Parse(Encoding.ASCII.GetBytes(pem), both);
        Assert.Equal(2, list.Count);
        Assert.True(list.IsRevoked(revoked));
        Assert.True(list.IsRevoked(fromSecond));
        Assert.False(list.IsRevoked(kept));
        Assert.NotNull(list.NextUpdate);
        Assert.InRange(list.NextUpdate!.Value, DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));

        // DER works too.
        string body = ca.CrlPem(revoked).Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).Aggregate("", string.Concat);
        Assert.True(RevocationList.Parse(Convert.FromBase64String(body), [ca.Certificate]).IsRevoked(revoked));

        // A list whose CA is not trusted, or whose signature does not verify, is refused.
        var e = Assert.Throws<CryptographicException>(() => RevocationList.Parse(Encoding.ASCII.GetBytes(pem), [ca.Certificate]));
        Assert.Contains("'CN=Second CA', which is not a trusted CA", e.Message);
        byte[] der = Convert.FromBase64String(body);
        der[^5] ^= 0x55;
        Assert.Throws<CryptographicException>(() => RevocationList.Parse(der, [ca.Certificate]));
    }
}
