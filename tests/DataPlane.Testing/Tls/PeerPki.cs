using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Testing;

/// <summary>A certificate issued by <see cref="PeerPki"/>: its identity, its PEM files and the certificate with its key.</summary>
public sealed record PeerIdentity(string Name, string CertificatePath, string KeyPath, X509Certificate2 Certificate);

/// <summary>A throw-away PKI for the transfer engine's mutual TLS, as <c>scripts/pki.sh issue-server</c> makes it: a CA
/// and host certificates (EC P-256) with serverAuth and clientAuth and the host's name as SAN DNS name (optionally a URI
/// as well), written as PEM files; plus a foreign CA for certificates nobody should trust.</summary>
public sealed class PeerPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _foreignKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _foreign;
    private readonly List<X509Certificate2> _issued = [];

    private PeerPki(string dir)
    {
        Directory = dir;
        _ca = CreateCa("DataPlane Transfer Test CA", _caKey);
        _foreign = CreateCa("Foreign CA", _foreignKey);
        File.WriteAllText(CaPath, _ca.ExportCertificatePem());
        File.WriteAllText(ForeignCaPath, _foreign.ExportCertificatePem());
    }

    /// <summary>Where the files are.</summary>
    public string Directory { get; }

    /// <summary>The CA every node trusts (PEM).</summary>
    public string CaPath => Path.Combine(Directory, "ca.pem");

    /// <summary>Another CA (PEM), trusted by nobody who uses <see cref="CaPath"/>.</summary>
    public string ForeignCaPath => Path.Combine(Directory, "foreign-ca.pem");

    /// <summary>The CA certificates (as a bundle would load).</summary>
    public X509Certificate2Collection Ca => [_ca];

    public static PeerPki Create() => new(System.IO.Directory.CreateTempSubdirectory("dataplane-peer-pki-").FullName);

    /// <summary>Issues a host certificate for <paramref name="name"/> (SAN DNS; plus <paramref name="uri"/> when given),
    /// from the foreign CA with <paramref name="foreign"/>, with only the uses asked for.</summary>
    public PeerIdentity Issue(string name, string? uri = null, bool foreign = false, bool serverAuth = true, bool clientAuth = true, bool dnsName = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var uses = new OidCollection();
        if (serverAuth)
        {
            uses.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        if (clientAuth)
        {
            uses.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(uses, false));
        var san = new SubjectAlternativeNameBuilder();
        if (dnsName)
        {
            san.AddDnsName(name);
        }

        if (uri is not null)
        {
            san.AddUri(new Uri(uri));
        }

        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var issuer = foreign ? _foreign : _ca;
        var issuerKey = foreign ? _foreignKey : _caKey;
        using var issuerWithKey = issuer.CopyWithPrivateKey(issuerKey);
        using var issued = request.Create(issuerWithKey, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        using var withKey = issued.CopyWithPrivateKey(key);
        string stem = Path.Combine(Directory, (foreign ? "foreign-" : "") + new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray()));
        File.WriteAllText(stem + ".pem", withKey.ExportCertificatePem());
        File.WriteAllText(stem + ".key", key.ExportPkcs8PrivateKeyPem());
        // As the daemon loads it: re-imported so the TLS stack can use the key.
        var usable = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        _issued.Add(usable);
        return new PeerIdentity(uri ?? name, stem + ".pem", stem + ".key", usable);
    }

    /// <summary>Writes a revocation list signed by the CA naming <paramref name="revoked"/> (valid for a day) to
    /// <c>DIR/NAME</c> and returns its path.</summary>
    public string WriteCrl(string name, params PeerIdentity[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var peer in revoked)
        {
            builder.AddEntry(peer.Certificate, DateTimeOffset.UtcNow.AddMinutes(-1), X509RevocationReason.KeyCompromise);
        }

        using var issuer = _ca.CopyWithPrivateKey(_caKey);
        byte[] der = builder.Build(issuer, System.Numerics.BigInteger.One, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, new string(PemEncoding.Write("X509 CRL", der)));
        return path;
    }

    public void Dispose()
    {
        foreach (var certificate in _issued)
        {
            certificate.Dispose();
        }

        _ca.Dispose();
        _foreign.Dispose();
        _caKey.Dispose();
        _foreignKey.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static X509Certificate2 CreateCa(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }
}
