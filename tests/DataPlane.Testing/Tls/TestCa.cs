using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Testing;

/// <summary>A throw-away certificate authority for tests (EC P-256, fast to make): client and server certificates with
/// chosen names, PEM files of them, and revocation lists signed by the CA.</summary>
public sealed class TestCa : IDisposable
{
    private BigInteger _crlNumber = 1;

    private TestCa(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public string Pem => Certificate.ExportCertificatePem();

    public static TestCa Create(string name = "DataPlane Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return new TestCa(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1)));
    }

    /// <summary>A client certificate (clientAuth) with common name <paramref name="commonName"/> and optional subjectAltName
    /// DNS names and URIs.</summary>
    public X509Certificate2 IssueClient(string commonName, string[]? dns = null, string[]? uris = null) =>
        Issue(commonName, serverAuth: false, dns, uris);

    /// <summary>A server certificate (serverAuth) for localhost and 127.0.0.1.</summary>
    public X509Certificate2 IssueServer(string commonName = "gpu-host") => Issue(commonName, serverAuth: true, ["localhost"], null);

    private X509Certificate2 Issue(string commonName, bool serverAuth, string[]? dns, string[]? uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        if (dns is { Length: > 0 } || uris is { Length: > 0 } || serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string d in dns ?? [])
            {
                san.AddDnsName(d);
            }

            foreach (string u in uris ?? [])
            {
                san.AddUri(new Uri(u));
            }

            if (serverAuth)
            {
                san.AddIpAddress(IPAddress.Loopback);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        using var cert = request.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12),
            RandomNumberGenerator.GetBytes(16));
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>A revocation list (PEM) naming <paramref name="revoked"/>, valid for a day, with the next CRL number.</summary>
    public string CrlPem(params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-1), X509RevocationReason.KeyCompromise);
        }

        byte[] der = builder.Build(Certificate, _crlNumber++, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
        return new string(PemEncoding.Write("X509 CRL", der));
    }

    /// <summary>Writes the certificate and its private key as PEM files <c>DIR/NAME.pem</c> and <c>DIR/NAME.key</c>.</summary>
    public static (string Certificate, string Key) Write(X509Certificate2 certificate, string dir, string name)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string cert = Path.Combine(dir, name + ".pem"), key = Path.Combine(dir, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    public void Dispose() => Certificate.Dispose();
}
