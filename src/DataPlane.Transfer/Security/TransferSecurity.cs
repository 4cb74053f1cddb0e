using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Transfer.Security;

/// <summary>How much a connection is protected.</summary>
public enum ConnectionProtection
{
    /// <summary>No TLS: the peer is not authenticated and nothing is encrypted (xfer-bench without certificates, tests).</summary>
    None,

    /// <summary>Mutual TLS authenticated the peer and carried the handshake; data travels in clear
    /// (<c>Transfer:Encryption=none</c> over TCP, and RDMA payloads, which never pass through TLS).</summary>
    Authenticated,

    /// <summary>Mutual TLS authenticated the peer and every byte of the connection travels inside the TLS session.</summary>
    Encrypted,
}

/// <summary>Names used in logs, metric labels and reports.</summary>
public static class ConnectionProtectionNames
{
    /// <summary>"none", "authenticated" or "encrypted".</summary>
    public static string Name(this ConnectionProtection protection) => protection switch
    {
        ConnectionProtection.Authenticated => "authenticated",
        ConnectionProtection.Encrypted => "encrypted",
        _ => "none",
    };
}

/// <summary>Mutual TLS 1.3 on the transfer engine's control connections. Both ends present a certificate from the
/// internal CA (<c>scripts/pki.sh issue-server</c> makes host certificates with both the serverAuth and clientAuth
/// uses); a peer's identity is a DNS name or URI in its certificate's subjectAltName, never its address. The
/// connecting side names the peer it expects (<see cref="Abstractions.ConnectionSettings.ExpectedPeerName"/>); the
/// listening side takes the peers of <see cref="AllowedPeers"/>. In both directions the node name a peer gives in the
/// handshake must be one of its certificate's names. RDMA queue pairs are created only after all of this succeeded.
/// <para>The certificate and the CA are read through delegates on every new connection, so files rotated on disk are
/// used from the next handshake on (the daemon passes reloaders).</para></summary>
public sealed class TransferSecurity
{
    private readonly Lock _gate = new();
    private X509Certificate2? _contextFor;
    private SslStreamCertificateContext? _context;

    /// <summary>Creates the settings.</summary>
    /// <param name="certificate">This node's certificate with its private key (the current one; called per handshake).</param>
    /// <param name="trustedCa">The CA certificates peers' certificates must chain to (called per handshake).</param>
    public TransferSecurity(Func<X509Certificate2> certificate, Func<X509Certificate2Collection> trustedCa)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedCa);
        Certificate = certificate;
        TrustedCa = trustedCa;
    }

    /// <summary>This node's certificate and key.</summary>
    public Func<X509Certificate2> Certificate { get; }

    /// <summary>The CA certificates a peer's certificate must chain to (only these; never the system store).</summary>
    public Func<X509Certificate2Collection> TrustedCa { get; }

    /// <summary>Listener side: the peers that may connect, by certificate name (default: none).</summary>
    public PeerAllowList AllowedPeers { get; init; } = PeerAllowList.None;

    /// <summary>True (default): TCP data travels inside the TLS session. False: after the authenticated handshake TCP
    /// data travels in clear, for isolated fabrics only; a connection is in clear only when both sides turned
    /// encryption off. RDMA payloads are never encrypted.</summary>
    public bool EncryptData { get; init; } = true;

    /// <summary>Revocation: true for a peer certificate that must no longer be accepted (e.g. its serial is in a CRL the
    /// host re-reads); checked in both directions after the chain. Null: no revocation list (remove the peer's name
    /// from the allowed peers instead).</summary>
    public Func<X509Certificate2, bool>? IsRevoked { get; init; }

    /// <summary>How often the same refused peer (address and reason) is logged (default 1 minute); every refusal is counted.</summary>
    public TimeSpan RefusalLogInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Settings that read the certificate, its key and the CA once from PEM files (tools; the daemon reloads).</summary>
    /// <exception cref="TransferSecurityException">A file is missing, unreadable or not what it should be.</exception>
    public static TransferSecurity FromFiles(string certificatePath, string keyPath, string caPath)
    {
        var certificate = PemFiles.LoadCertificate(certificatePath, keyPath);
        var ca = PemFiles.LoadCa(caPath);
        return new TransferSecurity(() => certificate, () => ca);
    }

    /// <summary>The current certificate as a TLS context, built once per certificate (offline: the chain is not
    /// completed from the network).</summary>
    internal SslStreamCertificateContext CertificateContext()
    {
        var certificate = Certificate();
        lock (_gate)
        {
            if (!ReferenceEquals(certificate, _contextFor) || _context is null)
            {
                _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
                _contextFor = certificate;
            }

            return _context;
        }
    }
}

/// <summary>The peers a transfer listener accepts, by a DNS name or URI in their certificate.</summary>
public sealed class PeerAllowList
{
    private readonly string[] _names;

    private PeerAllowList(string[] names, bool any)
    {
        _names = names;
        AllowsAny = any;
    }

    /// <summary>Nobody.</summary>
    public static PeerAllowList None { get; } = new([], any: false);

    /// <summary>Any certificate issued by the trusted CA (whatever its name).</summary>
    public static PeerAllowList Any { get; } = new([], any: true);

    /// <summary>True for <see cref="Any"/>.</summary>
    public bool AllowsAny { get; }

    /// <summary>The allowed names (empty for <see cref="Any"/> and <see cref="None"/>).</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The peers named <paramref name="names"/> (DNS names or URIs as in their certificates).</summary>
    public static PeerAllowList Of(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return new PeerAllowList([.. names], any: false);
    }

    /// <summary>True when <paramref name="name"/> (a name of the peer's certificate) may connect.</summary>
    public bool Allows(string name) => AllowsAny || _names.Any(n => CertificateNames.Same(n, name));

    /// <inheritdoc/>
    public override string ToString() => AllowsAny ? "*" : _names.Length == 0 ? "(none)" : string.Join(", ", _names);
}

/// <summary>A certificate or CA file could not be used.</summary>
public sealed class TransferSecurityException : Exception
{
    /// <summary>Creates the exception with a message and its cause.</summary>
    public TransferSecurityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception without a message.</summary>
    public TransferSecurityException()
        : this("invalid transfer TLS material")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TransferSecurityException(string message)
        : base(message)
    {
    }
}
