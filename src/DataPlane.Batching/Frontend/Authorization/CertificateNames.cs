using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>The names a client certificate gives its holder, in the order an identity is looked up: subjectAltName
/// URIs, subjectAltName DNS names, then the subject's common names.</summary>
public static class CertificateNames
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const string CommonNameOid = "2.5.4.3";

    public static IReadOnlyList<string> Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var uris = new List<string>();
        var dns = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value == SubjectAltNameOid)
            {
                ReadAltNames(extension.RawData, uris, dns);
            }
        }

        var names = new List<string>(uris.Count + dns.Count + 1);
        names.AddRange(uris);
        names.AddRange(dns);
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid && rdn.GetSingleElementValue() is { Length: > 0 } cn)
            {
                names.Add(cn);
            }
        }

        return names;
    }

    /// <summary>GeneralNames ::= SEQUENCE OF GeneralName; dNSName [2] and uniformResourceIdentifier [6] are IA5Strings.
    /// A malformed extension contributes no names (the TLS stack already accepted the certificate).</summary>
    private static void ReadAltNames(byte[] der, List<string> uris, List<string> dns)
    {
        var dnsTag = new Asn1Tag(TagClass.ContextSpecific, 2);
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        try
        {
            var names = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(dnsTag))
                {
                    dns.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, dnsTag));
                }
                else if (tag.HasSameClassAndValue(uriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                }
                else
                {
                    _ = names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
        }
    }
}
