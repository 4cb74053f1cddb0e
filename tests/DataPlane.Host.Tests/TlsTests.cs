using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Host.Configuration;
using DataPlane.Host.Serving;
using DataPlane.Protocol.Inference;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Host.Tests;

/// <summary>TLS and mutual TLS on the gRPC listener, with certificates made for the test.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-tls-").FullName;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _otherCa;
    private readonly DateTimeOffset _serverNotAfter;

    public TlsTests()
    {
        _ca = CreateCa("DataPlane Test CA");
        _otherCa = CreateCa("Someone Else's CA");
        var server = Issue(_ca, "dataplane-gpu-host", serverAuth: true);
        _serverNotAfter = new DateTimeOffset(server.NotAfter.ToUniversalTime());
        File.WriteAllText(Path.Combine(_dir, "ca.pem"), _ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "server.key"), server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool serverAuth)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        return cert.CopyWithPrivateKey(key);
    }

    private async Task<Daemon> StartAsync(bool mutual)
    {
        var values = new Dictionary<string, string?>
        {
            ["Listen:Grpc"] = "127.0.0.1:0",
            ["Listen:Admin"] = "127.0.0.1:0",
            ["Listen:Http"] = "127.0.0.1:0",
            ["Listen:Tls:Certificate"] = Path.Combine(_dir, "server.pem"),
            ["Listen:Tls:Key"] = Path.Combine(_dir, "server.key"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (mutual)
        {
            values["Listen:Tls:ClientCa"] = Path.Combine(_dir, "ca.pem");
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return await Daemon.StartAsync(DaemonConfiguration.Bind(configuration), configuration, Prometheus.Metrics.NewCustomRegistry());
    }

    private GrpcChannel Channel(Daemon daemon, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate != null && DataPlane.Hosting.Listeners.ListenerSetup.IsIssuedBy(
                certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), [_ca], serverAuth: true);
        if (clientCertificate != null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        return GrpcChannel.ForAddress(daemon.GrpcAddress, new GrpcChannelOptions { HttpHandler = handler });
    }

    [Fact]
    public async Task Server_tls_serves_clients_that_trust_the_ca()
    {
        await using var daemon = await StartAsync(mutual: false);
        Assert.Equal("https", daemon.GrpcAddress.Scheme);
        using var channel = Channel(daemon, null);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);

        // The admin listener (plain HTTP here) exports when the served certificate expires.
        using var http = new HttpClient();
        string metrics = await http.GetStringAsync(new Uri(daemon.AdminAddress, "/metrics"));
        Assert.Contains($"dataplane_tls_certificate_expiry_timestamp_seconds{{certificate=\"grpc\"}} {_serverNotAfter.ToUnixTimeSeconds()}\n", metrics);
        Assert.DoesNotContain("certificate=\"admin\"", metrics);
    }

    [Fact]
    public async Task Mutual_tls_admits_only_clients_with_a_certificate_from_the_configured_ca()
    {
        await using var daemon = await StartAsync(mutual: true);

        using (var good = Channel(daemon, Issue(_ca, "pi-edge-07", serverAuth: false)))
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(good);
            Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        }

        using (var none = Channel(daemon, null))
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(none);
            var e = await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
            TlsRefusal.AssertRefused(e);
        }

        using (var foreign = Channel(daemon, Issue(_otherCa, "intruder", serverAuth: false)))
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(foreign);
            var e = await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
            TlsRefusal.AssertRefused(e);
        }

        // A server certificate is not a client certificate, even from the right CA.
        using (var wrongUsage = Channel(daemon, Issue(_ca, "not-a-client", serverAuth: true)))
        {
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(wrongUsage);
            await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
        }
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
