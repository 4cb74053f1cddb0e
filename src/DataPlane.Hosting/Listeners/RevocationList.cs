using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace DataPlane.Hosting.Listeners;

/// <summary>The certificates revoked by one or more X.509 certificate revocation lists (RFC 5280 §5), read from a PEM
/// file (one or more <c>X509 CRL</c> blocks, e.g. one per CA during a CA rotation) or a DER file. Every list must be
/// signed by one of the trusted CA certificates (matched by issuer name and checked with its public key, ECDSA or RSA
/// PKCS#1 v1.5 with SHA-256/384/512), or the file is refused as a whole. Checking is offline: nothing is fetched.
/// <para>A certificate is revoked when a list from its issuer names its serial number. A list past its
/// <c>nextUpdate</c> still counts (refusing every client because a CRL was not re-signed in time would take the
/// pool down); <see cref="NextUpdate"/> is exported so that alerts fire before that happens.</para></summary>
public sealed class RevocationList
{
    // Issuer name (DER, hex) → revoked serial numbers (big-endian hex without leading zero bytes).
    private readonly Dictionary<string, HashSet<string>> _revoked;

    private RevocationList(Dictionary<string, HashSet<string>> revoked, int count, DateTimeOffset? nextUpdate)
    {
        _revoked = revoked;
        Count = count;
        NextUpdate = nextUpdate;
    }

    /// <summary>Revoked certificates listed, over all lists in the file.</summary>
    public int Count { get; }

    /// <summary>The earliest <c>nextUpdate</c> of the lists (when a fresher list should be in place), or null when none
    /// gives one.</summary>
    public DateTimeOffset? NextUpdate { get; }

    /// <summary>Reads and checks <paramref name="path"/>; throws <see cref="CryptographicException"/> (or an I/O exception)
    /// with a message saying what is wrong.</summary>
    public static RevocationList Load(string path, X509Certificate2Collection issuers) =>
        Parse(File.ReadAllBytes(path), issuers);

    /// <summary>Reads and checks PEM or DER bytes of one or more CRLs against <paramref name="issuers"/>.</summary>
    public static RevocationList Parse(ReadOnlySpan<byte> bytes, X509Certificate2Collection issuers)
    {
        ArgumentNullException.ThrowIfNull(issuers);
        var lists = new List<byte[]>();
        if (bytes.IndexOf("-----BEGIN"u8) >= 0)
        {
            ReadOnlySpan<char> text = Encoding.ASCII.GetString(bytes);
            while (PemEncoding.TryFind(text, out var fields))
            {
                if (text[fields.Label].SequenceEqual("X509 CRL"))
                {
                    lists.Add(Convert.FromBase64String(text[fields.Base64Data].ToString()));
                }

                text = text[fields.Location.End.Value..];
            }

            if (lists.Count == 0)
            {
                throw new CryptographicException("holds no PEM block 'X509 CRL'");
            }
        }
        else
        {
            lists.Add(bytes.ToArray());
        }

        var revoked = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        int count = 0;
        DateTimeOffset? nextUpdate = null;
        foreach (byte[] der in lists)
        {
            var crl = ReadOne(der);
            Verify(crl, issuers);
            if (!revoked.TryGetValue(crl.Issuer, out var serials))
            {
                revoked[crl.Issuer] = serials = new HashSet<string>(StringComparer.Ordinal);
            }

            foreach (string serial in crl.Serials)
            {
                if (serials.Add(serial))
                {
                    count++;
                }
            }

            if (crl.NextUpdate is { } next && (nextUpdate == null || next < nextUpdate))
            {
                nextUpdate = next;
            }
        }

        return new RevocationList(revoked, count, nextUpdate);
    }

    /// <summary>True when a list from <paramref name="certificate"/>'s issuer names its serial number.</summary>
    public bool IsRevoked(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return _revoked.Count > 0 &&
            _revoked.TryGetValue(Convert.ToHexString(certificate.IssuerName.RawData), out var serials) &&
            serials.Contains(SerialKey(certificate.SerialNumberBytes.Span));
    }

    /// <summary>The serial number as compared here: big-endian hex, leading zero bytes dropped.</summary>
    public static string SerialKey(ReadOnlySpan<byte> bigEndian)
    {
        while (bigEndian.Length > 1 && bigEndian[0] == 0)
        {
            bigEndian = bigEndian[1..];
        }

        return Convert.ToHexString(bigEndian);
    }

    private sealed record Crl(byte[] Tbs, string SignatureOid, byte[] Signature, string Issuer, byte[] IssuerDer, List<string> Serials,
        DateTimeOffset? NextUpdate);

    private static Crl ReadOne(byte[] der)
    {
        try
        {
            // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            var list = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            byte[] tbsBytes = list.ReadEncodedValue().ToArray();
            var algorithm = list.ReadSequence();
            string oid = algorithm.ReadObjectIdentifier();
            byte[] signature = list.ReadBitString(out _);
            list.ThrowIfNotEmpty();

            // TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature, issuer Name, thisUpdate Time,
            //   nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE { serial, date, extensions? } OPTIONAL,
            //   crlExtensions [0] EXPLICIT Extensions OPTIONAL }
            var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                _ = tbs.ReadInteger();
            }

            string innerOid = tbs.ReadSequence().ReadObjectIdentifier();
            if (innerOid != oid)
            {
                throw new CryptographicException($"is not a valid revocation list: its signature algorithms differ ({innerOid}, {oid})");
            }

            byte[] issuer = tbs.ReadEncodedValue().ToArray();
            _ = ReadTime(tbs);
            DateTimeOffset? next = null;
            if (tbs.HasData && IsTime(tbs.PeekTag()))
            {
                next = ReadTime(tbs);
            }

            var serials = new List<string>();
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = tbs.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    serials.Add(SerialKey(entry.ReadIntegerBytes().Span));
                }
            }

            return new Crl(tbsBytes, oid, signature, Convert.ToHexString(issuer), issuer, serials, next);
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException($"is not a certificate revocation list ({e.Message})", e);
        }
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    private static void Verify(Crl crl, X509Certificate2Collection issuers)
    {
        var (hash, ecdsa) = crl.SignatureOid switch
        {
            "1.2.840.10045.4.3.2" => (HashAlgorithmName.SHA256, true),
            "1.2.840.10045.4.3.3" => (HashAlgorithmName.SHA384, true),
            "1.2.840.10045.4.3.4" => (HashAlgorithmName.SHA512, true),
            "1.2.840.113549.1.1.11" => (HashAlgorithmName.SHA256, false),
            "1.2.840.113549.1.1.12" => (HashAlgorithmName.SHA384, false),
            "1.2.840.113549.1.1.13" => (HashAlgorithmName.SHA512, false),
            _ => throw new CryptographicException(
                $"is signed with algorithm {crl.SignatureOid}; ECDSA or RSA (PKCS#1 v1.5) with SHA-256, -384 or -512 is expected"),
        };

        bool named = false;
        foreach (var ca in issuers)
        {
            if (!ca.SubjectName.RawData.AsSpan().SequenceEqual(crl.IssuerDer))
            {
                continue;
            }

            named = true;
            if (ca.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage &&
                (usage.KeyUsages & X509KeyUsageFlags.CrlSign) == 0)
            {
                continue;
            }

            if (ecdsa)
            {
                using var key = ca.GetECDsaPublicKey();
                if (key != null && key.VerifyData(crl.Tbs, crl.Signature, hash, DSASignatureFormat.Rfc3279DerSequence))
                {
                    return;
                }
            }
            else
            {
                using var key = ca.GetRSAPublicKey();
                if (key != null && key.VerifyData(crl.Tbs, crl.Signature, hash, RSASignaturePadding.Pkcs1))
                {
                    return;
                }
            }
        }

        string issuerName = new X500DistinguishedName(crl.IssuerDer).Name;
        throw new CryptographicException(named
            ? $"holds a list of '{issuerName}' whose signature does not verify with that CA's key (signed by another key, or a CA without cRLSign)"
            : $"holds a list of '{issuerName}', which is not a trusted CA ({string.Join(", ", issuers.Select(c => c.Subject))})");
    }

    /// <summary>A short description for logs: entries and next update.</summary>
    public override string ToString() =>
        $"{Count} revoked certificate(s), next update {(NextUpdate is { } n ? n.UtcDateTime.ToString("u", CultureInfo.InvariantCulture) : "not given")}";
}
