using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Transfer.Security;

/// <summary>Reads the PEM files of the transfer engine's TLS: a certificate with its private key, and a CA bundle.
/// Every failure is a <see cref="TransferSecurityException"/> naming the file and the reason.</summary>
public static class PemFiles
{
    /// <summary>Loads a certificate and its key (both PEM) into a certificate the TLS stack can use.</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificatePath);
        ArgumentNullException.ThrowIfNull(keyPath);
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            // Re-import so the private key is usable by the TLS stack on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferSecurityException($"cannot read '{certificatePath}' or '{keyPath}': {e.Message}", e);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new TransferSecurityException(
                $"'{certificatePath}' with key '{keyPath}' is not a usable certificate and matching private key (PEM): {e.Message}", e);
        }
    }

    /// <summary>Loads every certificate of a PEM CA bundle (several during a CA rotation); an empty one is an error.</summary>
    public static X509Certificate2Collection LoadCa(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var ca = new X509Certificate2Collection();
        try
        {
            ca.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TransferSecurityException($"cannot read '{path}': {e.Message}", e);
        }
        catch (CryptographicException e)
        {
            throw new TransferSecurityException($"'{path}' is not a PEM certificate bundle: {e.Message}", e);
        }

        if (ca.Count == 0)
        {
            throw new TransferSecurityException($"'{path}' holds no PEM certificate");
        }

        return ca;
    }

    /// <summary>Checks that <paramref name="certificate"/> chains to <paramref name="ca"/> for the given uses (serverAuth to
    /// listen, clientAuth to connect) and names at least one identity; returns the problem, or null.</summary>
    public static string? CheckOwnCertificate(X509Certificate2 certificate, X509Certificate2Collection ca, bool serverAuth, bool clientAuth)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(ca);
        if (CertificateNames.Of(certificate).Count == 0)
        {
            return "it names no DNS name or URI in subjectAltName (a transfer peer is known by one of them)";
        }

        foreach (var (needed, oid, name) in (ReadOnlySpan<(bool, string, string)>)[(serverAuth, PeerValidation.ServerAuth, "serverAuth"), (clientAuth, PeerValidation.ClientAuth, "clientAuth")])
        {
            if (needed && PeerValidation.Check(certificate, null, ca, oid) is { } problem)
            {
                return $"it is not valid for {name} under the CA: {problem.Detail} (scripts/pki.sh issue-server gives host certificates both uses)";
            }
        }

        return null;
    }
}
