using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Transfer.Security;

/// <summary>Why a peer was refused: the values of the <c>reason</c> label of
/// <c>dataplane_transfer_auth_failures_total</c>.</summary>
public static class AuthFailures
{
    /// <summary>The peer spoke the transfer handshake without TLS.</summary>
    public const string Plaintext = "plaintext";

    /// <summary>The peer sent something that is neither TLS nor the transfer handshake.</summary>
    public const string NotTls = "not_tls";

    /// <summary>The TLS handshake failed for another reason (protocol, cipher, a peer that refused our certificate).</summary>
    public const string TlsFailed = "tls_failed";

    /// <summary>The peer presented no certificate.</summary>
    public const string NoCertificate = "no_certificate";

    /// <summary>The certificate does not chain to the trusted CA, is outside its validity period or lacks the needed use.</summary>
    public const string UntrustedCertificate = "untrusted_certificate";

    /// <summary>The certificate names no DNS name or URI.</summary>
    public const string NoIdentity = "no_identity";

    /// <summary>The certificate is revoked (<see cref="TransferSecurity.IsRevoked"/>).</summary>
    public const string Revoked = "revoked";

    /// <summary>A valid certificate whose names are not among the allowed peers.</summary>
    public const string PeerNotAllowed = "peer_not_allowed";

    /// <summary>The node name in the handshake (or the peer a connection was meant for) is not a name of the certificate.</summary>
    public const string NameMismatch = "name_mismatch";
}

/// <summary>A refused certificate: the <see cref="AuthFailures"/> reason and words for the log.</summary>
public readonly record struct PeerRefusal(string Reason, string Detail);

/// <summary>Checks a peer's certificate against the trusted CA alone (never the system store), with the use the side
/// needs: clientAuth for a peer that connected to us, serverAuth for the listener we connected to.</summary>
public static class PeerValidation
{
    /// <summary>id-kp-serverAuth.</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>id-kp-clientAuth.</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>The chain policy for TLS: custom root trust with <paramref name="ca"/>, no downloads, no revocation lookups
    /// (the CA is offline; revoke by re-issuing and removing the name from the allowed peers), the given use.</summary>
    public static X509ChainPolicy Policy(X509Certificate2Collection ca, string usage)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(ca);
        policy.ApplicationPolicy.Add(new Oid(usage));
        return policy;
    }

    /// <summary>Null when <paramref name="certificate"/> chains to <paramref name="ca"/> for <paramref name="usage"/>; else why not.</summary>
    public static PeerRefusal? Check(X509Certificate2 certificate, X509Chain? presented, X509Certificate2Collection ca, string usage)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain { ChainPolicy = Policy(ca, usage) };
        if (presented is not null)
        {
            // Intermediates the peer sent along.
            for (int i = 1; i < presented.ChainElements.Count; i++)
            {
                chain.ChainPolicy.ExtraStore.Add(presented.ChainElements[i].Certificate);
            }
        }

        if (chain.Build(certificate))
        {
            return null;
        }

        return new PeerRefusal(AuthFailures.UntrustedCertificate, Describe(certificate, chain));
    }

    /// <summary>Words for a chain that did not build: the subject and each status.</summary>
    public static string Describe(X509Certificate2 certificate, X509Chain chain)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(chain);
        var problems = chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct().ToArray();
        return $"certificate '{certificate.Subject}' (issuer '{certificate.Issuer}') is not trusted: {(problems.Length > 0 ? string.Join("; ", problems) : "no chain to the CA")}";
    }
}
