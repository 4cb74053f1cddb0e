using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Transfer.Security;

/// <summary>A certificate's identities for the transfer engine: the DNS names and URIs of its subjectAltName, in
/// order (IP addresses are not identities: a peer is never recognised by its address).</summary>
public static class CertificateNames
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag s_dnsName = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag s_uri = new(TagClass.ContextSpecific, 6);

    /// <summary>The DNS names, then the URIs, of <paramref name="certificate"/>'s subjectAltName (empty when it has none
    /// or the extension is malformed).</summary>
    public static IReadOnlyList<string> Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.Extensions[SubjectAltNameOid] is not { } extension)
        {
            return [];
        }

        var dns = new List<string>();
        var uris = new List<string>();
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(s_dnsName))
                {
                    dns.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, s_dnsName));
                }
                else if (tag.HasSameClassAndValue(s_uri))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, s_uri));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            return [];
        }

        return [.. dns, .. uris];
    }

    /// <summary>True when two identities are the same: DNS names compare without regard to case, URIs exactly.</summary>
    public static bool Same(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return IsUri(a) || IsUri(b) ? string.Equals(a, b, StringComparison.Ordinal) : string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when <paramref name="names"/> holds <paramref name="name"/>.</summary>
    public static bool Contains(IEnumerable<string> names, string name) => names.Any(n => Same(n, name));

    /// <summary>True for a URI identity (it has a scheme: "spiffe://…", "urn:…").</summary>
    public static bool IsUri(string name) => name.Contains(':', StringComparison.Ordinal);

    /// <summary>True when <paramref name="name"/> can be a transfer identity: a DNS name (letters, digits, dots, dashes,
    /// no address) or a URI, at most <paramref name="maxBytes"/> UTF-8 bytes (the handshake's node-name field).</summary>
    public static bool IsValidIdentity(string name, int maxBytes = Handshake.HandshakeCodec.MaxNodeNameBytes)
    {
        if (string.IsNullOrEmpty(name) || System.Text.Encoding.UTF8.GetByteCount(name) > maxBytes || name.Any(char.IsWhiteSpace))
        {
            return false;
        }

        if (IsUri(name))
        {
            return Uri.TryCreate(name, UriKind.Absolute, out _);
        }

        if (System.Net.IPAddress.TryParse(name, out _))
        {
            return false;
        }

        return name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-') && name[0] != '.' && name[0] != '-' && name[^1] != '-';
    }
}
